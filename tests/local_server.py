"""An aiohttp application served on 127.0.0.1 on a free port, for the tests' fakes."""

from __future__ import annotations

from aiohttp import web


class LocalServer:
    """Start with ``await start(app)``; ``origin`` is then ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.origin = ""
        self.sockets: set[web.WebSocketResponse] = set()
        """Open WebSockets (``track``): closed first when the server stops, as a real
        server going away would, rather than waited for."""

    def track(self, ws: web.WebSocketResponse) -> web.WebSocketResponse:
        self.sockets.add(ws)
        return ws

    async def start(self, app: web.Application) -> None:
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for ws in list(self.sockets):
            if not ws.closed:
                await ws.close(code=1001, message=b"server stopping")
        self.sockets.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
