"""Imported once in the worker's forkserver (``AgentServer(preload_modules=...)``).

The worker's code, its plugins, the question bank, the roles and the prompts are loaded
here, before any job process exists; each job process starts from this image and shares
it copy-on-write instead of importing and parsing it again (docs/PERFORMANCE.md,
section 4). Only fork-safe work: imports, files read, a TLS context; no threads, no
event loop, no settings read (those are the job's).
"""

from __future__ import annotations

from agent import worker

worker.warm()
