"""Prompt templates (``templates/*.txt``) and what renders them."""

from .loader import data_block, load, render

__all__ = ["data_block", "load", "render"]
