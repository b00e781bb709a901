"""The interview as plain data, and how it is saved: no LiveKit here.

``record.Interview`` holds one interview in progress (the state machine, the transcript,
latencies, errors, the questions planned); ``rows`` turns it into the rows the store
keeps; ``saving`` checkpoints and finalizes them; ``assessor`` asks a model for the
assessment. The LiveKit layer (``agent/``) feeds the record plain events.
"""
