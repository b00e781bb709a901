"""The interview's own OpenTelemetry spans, and the exporter that sends them.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, :func:`configure` builds one tracer provider
per process (OTLP over HTTP/protobuf, or gRPC when ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``;
the exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables itself). The same
provider serves LiveKit's own spans (``agent/telemetry.py``). Without it every span here
is OpenTelemetry's no-op: nothing is recorded or sent.

Spans carry the room and the interview id, never what anyone said and never a key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, Status, StatusCode

SERVICE_NAME = "interview-agent"
ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
FLUSH_TIMEOUT_MS = 5000

_provider: TracerProvider | None = None


def configured() -> TracerProvider | None:
    """This process's provider, once :func:`configure` made one."""
    return _provider


def _exporter() -> SpanExporter:
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter()


def configure(
    endpoint: str | None, *, version: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """The process's tracer provider when spans are wanted (``endpoint`` given, or an
    ``exporter``), made once (its export thread starts here: call it in the process that
    runs interviews, never before a fork). ``None`` when tracing is off."""
    global _provider
    if _provider is not None:
        return _provider
    if exporter is None:
        if not endpoint:
            return None
        os.environ.setdefault(ENDPOINT_ENV, endpoint)
        exporter = _exporter()
    resource = Resource.create({"service.name": SERVICE_NAME, "service.version": version})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def flush() -> None:
    """Send what is buffered (blocking, up to ``FLUSH_TIMEOUT_MS``: run it off the loop)."""
    if _provider is not None:
        _provider.force_flush(FLUSH_TIMEOUT_MS)


def interview_attributes(room: str | None, interview_id: str | None) -> dict[str, str]:
    attributes = {}
    if room:
        attributes["interview.room"] = room
    if interview_id:
        attributes["interview.id"] = interview_id
    return attributes


@contextmanager
def span(name: str, attributes: dict[str, Any] | None = None) -> Iterator[Span]:
    """A span named ``interview.<name>``; an exception marks it failed (its type only:
    messages may quote a candidate) and goes on."""
    tracer = trace.get_tracer("interview")
    with tracer.start_as_current_span(
        f"interview.{name}",
        attributes=attributes or {},
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as e:
            current.set_status(Status(StatusCode.ERROR, type(e).__name__))
            raise
