"""What an operator sees of the worker: Prometheus metrics and OpenTelemetry spans.

No LiveKit here (``agent/telemetry.py`` turns LiveKit's session events into these
metrics). Both are inert until configured: metrics stay in memory unless a metrics
directory is shared (:func:`share_metrics`), spans go nowhere unless
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (:mod:`observability.tracing`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsSetupError(RuntimeError):
    """Metrics were asked to be shared after they had started being recorded in memory."""


def share_metrics(directory: Path) -> None:
    """Record this process's metrics (and its children's) as files in ``directory``, so
    the worker's ``/metrics`` endpoint adds up every job process (Prometheus client's
    multiprocess mode). Must run before anything imports ``prometheus_client``: the
    client chooses where values live when it is first imported."""
    if "prometheus_client" in sys.modules and os.environ.get(MULTIPROC_ENV) != str(directory):
        raise MetricsSetupError("metrics must be shared before prometheus_client is imported")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(directory)
