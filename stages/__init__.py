"""Stages of an interview and the state machine that walks them (no LiveKit here)."""
