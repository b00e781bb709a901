"""The interview worker: LiveKit wiring, configuration, keys and the command line."""
