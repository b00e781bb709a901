"""Feedback on a finished interview: computed metrics and the ``feedback_data`` document."""
