"""The interview worker's LiveKit wiring: the worker and its jobs, the one session assembly,
each provider's plugin, the interviewer agent, the console, the playground's page server."""
