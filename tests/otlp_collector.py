"""A local OpenTelemetry collector for tests: OTLP over HTTP (protobuf) on 127.0.0.1.

The worker's real exporter sends to it (``OTEL_EXPORTER_OTLP_ENDPOINT``); each span is
kept as a plain dict (name, attributes, trace and parent ids, status).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from .local_server import LocalServer


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


class OtlpCollector:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self._server = LocalServer()
        self.endpoint = ""

    async def __aenter__(self) -> OtlpCollector:
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        await self._server.start(app)
        self.endpoint = self._server.origin
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def _traces(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        for rs in export.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
            self.resources.append(resource)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    self.spans.append(
                        {
                            "name": s.name,
                            "scope": ss.scope.name,
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent_id": s.parent_span_id.hex(),
                            "attributes": {kv.key: _value(kv.value) for kv in s.attributes},
                            "status": s.status.code,
                            "service": resource.get("service.name"),
                        }
                    )
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"] == name]
