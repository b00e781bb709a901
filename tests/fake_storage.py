"""A local stand-in for Supabase's Storage API (the endpoints supabase-py calls to upload,
list, remove, sign and fetch objects), for tests.

Every call needs the service role's key (checked as Supabase's gateway does). Each stored
or removed object is also written to the stack's ``storage.objects`` table (as the real
Storage API does) so the project's storage policies can be checked against it.
``failing`` makes uploads answer 503 (an outage).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import jwt
from aiohttp import web

from .local_server import LocalServer


class FakeStorage:
    def __init__(
        self,
        jwt_secret: str,
        on_object: Callable[[str, str], Any] | None = None,
        on_delete: Callable[[str, str], Any] | None = None,
    ) -> None:
        self.jwt_secret = jwt_secret
        self.on_object = on_object
        self.on_delete = on_delete
        self.objects: dict[tuple[str, str], bytes] = {}
        self.content_types: dict[tuple[str, str], str] = {}
        self.failing = False
        self.uploads = 0
        self._tokens: dict[str, tuple[str, str]] = {}
        self._server = LocalServer()
        self.port = 0

    async def __aenter__(self) -> FakeStorage:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/storage/v1/object/sign/{bucket}/{path:.+}", self._sign)
        app.router.add_get("/storage/v1/object/sign/{bucket}/{path:.+}", self._signed)
        app.router.add_post("/storage/v1/object/list/{bucket}", self._list)
        app.router.add_delete("/storage/v1/object/{bucket}", self._remove)
        app.router.add_post("/storage/v1/object/{bucket}/{path:.+}", self._upload)
        await self._server.start(app)
        self.port = int(self._server.origin.rsplit(":", 1)[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    def _authorized(self, request: web.Request) -> bool:
        """The service role's key: a token signed with the project's secret whose role is
        ``service_role`` (as Supabase's gateway checks it)."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return False
        return claims.get("role") == "service_role"

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads += 1
        if self.failing:
            return web.json_response({"error": "unavailable"}, status=503)
        if not self._authorized(request):
            return web.json_response({"statusCode": "403", "error": "Unauthorized",
                                      "message": "new row violates row-level security policy"},
                                     status=400)  # fmt: skip
        bucket, path = request.match_info["bucket"], request.match_info["path"]
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            return web.json_response({"error": "no file"}, status=400)
        key = (bucket, path)
        if key in self.objects and request.headers.get("x-upsert") != "true":
            return web.json_response({"error": "Duplicate"}, status=409)
        self.objects[key] = part.file.read()
        self.content_types[key] = part.content_type
        if self.on_object is not None:
            self.on_object(bucket, path)
        return web.json_response({"Key": f"{bucket}/{path}", "Id": secrets.token_hex(8)})

    async def _list(self, request: web.Request) -> web.Response:
        """The folder's direct children: files (with an id) and folders (id null)."""
        if not self._authorized(request):
            return web.json_response({"error": "Unauthorized"}, status=400)
        bucket, body = request.match_info["bucket"], await request.json()
        prefix = body.get("prefix", "").strip("/")
        entries: dict[str, str | None] = {}
        for b, name in self.objects:
            if b != bucket or not name.startswith(prefix + "/"):
                continue
            rest = name[len(prefix) + 1 :]
            child, _, deeper = rest.partition("/")
            entries[child] = None if deeper else secrets.token_hex(4)
        names = sorted(entries)[body.get("offset", 0) :][: body.get("limit", 100)]
        return web.json_response([{"name": n, "id": entries[n]} for n in names])

    async def _remove(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "Unauthorized"}, status=400)
        bucket, body = request.match_info["bucket"], await request.json()
        removed = []
        for name in body.get("prefixes", []):
            if self.objects.pop((bucket, name), None) is not None:
                removed.append({"name": name, "bucket_id": bucket})
                if self.on_delete is not None:
                    self.on_delete(bucket, name)
        return web.json_response(removed)

    async def _sign(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "Unauthorized"}, status=400)
        bucket, path = request.match_info["bucket"], request.match_info["path"]
        if (bucket, path) not in self.objects:
            return web.json_response({"error": "not_found"}, status=400)
        token = secrets.token_urlsafe(16)
        self._tokens[token] = (bucket, path)
        return web.json_response({"signedURL": f"/object/sign/{bucket}/{path}?token={token}"})

    async def _signed(self, request: web.Request) -> web.Response:
        key = self._tokens.get(request.query.get("token", ""))
        if key is None or key != (request.match_info["bucket"], request.match_info["path"]):
            return web.json_response({"error": "InvalidJWT"}, status=400)
        return web.Response(body=self.objects[key], content_type="audio/wav")
