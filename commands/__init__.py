"""The command line (``python -m agent ...``): arguments, output and exit codes. LiveKit
is reached only through ``agent/``; each command family is one module (``main.py`` lists
them and dispatches)."""
