"""A prefix-stripping reverse proxy: ``/rest/v1/...`` → PostgREST ``/...``.

Hosted Supabase serves PostgREST under ``/rest/v1``; supabase-py always calls that path.
Run as ``python proxy.py LISTEN_PORT UPSTREAM_PORT [STORAGE_PORT]``; with a third port,
``/storage/v1/...`` goes there unchanged (the tests' Storage API). When an upstream is
down the proxy answers 502, as Supabase's gateway does.
"""

from __future__ import annotations

import sys

from aiohttp import ClientError, ClientSession, web

PREFIX = "/rest/v1"
STORAGE = "/storage/v1/"
HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "content-encoding",
}


def main() -> None:
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    storage = int(sys.argv[3]) if len(sys.argv) > 3 else None
    session: ClientSession | None = None

    async def handle(request: web.Request) -> web.Response:
        nonlocal session
        if session is None:
            session = ClientSession(auto_decompress=False)
        path = request.rel_url.path
        if storage is not None and path.startswith(STORAGE):
            url = f"http://127.0.0.1:{storage}{path}"
        elif path.startswith(PREFIX):
            url = f"http://127.0.0.1:{upstream}{path[len(PREFIX) :] or '/'}"
        else:
            return web.Response(status=404, text="not found")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        try:
            async with session.request(
                request.method,
                url,
                params=request.rel_url.query,
                headers=headers,
                data=await request.read(),
            ) as resp:
                body = await resp.read()
                out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP}
                return web.Response(status=resp.status, body=body, headers=out)
        except (ClientError, OSError):
            return web.json_response({"message": "upstream unavailable"}, status=502)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=listen, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
