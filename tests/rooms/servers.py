"""A real LiveKit server (and Redis, for a cluster of two nodes) on loopback, for tests.

The server binary is the pinned release built by ``scripts/test-services`` under
``.cache/livekit/`` (or a ``livekit-server`` on ``PATH`` at that version). Each server
runs in dev mode (API key ``devkey``, secret ``secret``), bound to 127.0.0.1 with node IP
127.0.0.1, on free ports, so two test runs never collide.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from agent import playground

from ..services import ServiceUnavailable, free_port, http_ok, port_open, wait_until

LIVEKIT_VERSION = playground.LIVEKIT_VERSION
API_KEY = "devkey"
API_SECRET = "secret"
INSTALL_HINT = "scripts/test-services installs it (go install of livekit-server, pinned)"


class ServerUnavailable(ServiceUnavailable):
    pass


def livekit_binary() -> Path:
    """The pinned server, found as ``python -m agent playground`` finds it."""
    try:
        return playground.livekit_binary()
    except playground.PlaygroundError as e:
        raise ServerUnavailable(
            f"livekit-server {LIVEKIT_VERSION} not found: {INSTALL_HINT}"
        ) from e


class Redis:
    """``redis-server`` (Debian) on a free loopback port, in memory only."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerUnavailable("redis-server not found: scripts/test-services installs it")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        wait_until(lambda: port_open(self.port), "redis-server")

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)


class LiveKitServer:
    """One LiveKit node. With ``redis``, nodes sharing it form one cluster."""

    def __init__(self, *, redis: Redis | None = None, key: tuple[str, str] | None = None) -> None:
        self.binary = livekit_binary()
        self.port = free_port()
        self.tcp_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.url = f"ws://127.0.0.1:{self.port}"
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.api_key, self.api_secret = key or (API_KEY, API_SECRET)
        self.dir = Path(tempfile.mkdtemp(prefix="lk-"))
        self.log_path = self.dir / "livekit.log"
        config = (
            f"port: {self.port}\n"
            "rtc:\n"
            f"  tcp_port: {self.tcp_port}\n"
            f"  udp_port: {self.udp_port}\n"
            "  use_external_ip: false\n"
            "logging:\n"
            "  level: info\n"
        )
        args = [str(self.binary), "--dev", "--bind", "127.0.0.1", "--node-ip", "127.0.0.1",
                "--config-body", config]  # fmt: skip
        if redis is not None:
            args += ["--redis-host", redis.address]
        if key is not None:
            args += ["--keys", f"{key[0]}: {key[1]}"]
        self._log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: http_ok(self.http_url), f"LiveKit server on port {self.port}")
        except ServiceUnavailable:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
