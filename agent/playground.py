"""``python -m agent playground``: try the interview in a browser, on this machine.

Starts what is not already running: the pinned LiveKit server in dev mode (the build
``scripts/test-services`` makes) unless ``LIVEKIT_URL`` names one, the worker
(``python -m agent start``) unless ``--no-worker``, and the page's web server
(``agent/web_app.py``). Prints one URL. Ctrl-C stops everything it started: the
interviews still running are ended first (their rooms closed, so each job saves its
interview as ``worker_shutdown``), the worker is then stopped and drains, and only then
the LiveKit server.

The worker's and the server's logs go to ``data/playground/``. The LiveKit server is
started with an empty environment (nothing of the operator's reaches it); the worker is
this program and reads its keys from the environment as ``start`` always does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings
from pathlib import Path

from aiohttp import web
from livekit import api

from .config import ConfigError, Settings, load_settings, store_for
from .web_app import CLIENT_SDK, WEB_DIR, Playground, PlaygroundConfig, http_url, web_app

ROOT = Path(__file__).resolve().parent.parent
LIVEKIT_VERSION = "1.13.5"
LIVEKIT_BIN = ROOT / ".cache" / "livekit" / f"v{LIVEKIT_VERSION}" / "livekit-server"
DEV_KEY, DEV_SECRET = "devkey", "secret"
"""LiveKit's dev-mode credentials (the local server only)."""
LIVEKIT_PORT = 7880
WEB_PORT = 8787
LOG_DIR = Path("data") / "playground"
READY_S = 60.0
STOP_S = 90.0
"""How long the worker may take to save what its ended interviews hold, then exit."""


class PlaygroundError(RuntimeError):
    """Something to say in one line before stopping."""


# ---------------------------------------------------------------- the LiveKit server


def livekit_binary() -> Path:
    """The pinned LiveKit server: ``scripts/test-services``' build, or one on ``PATH`` at
    that version."""
    if LIVEKIT_BIN.exists():
        return LIVEKIT_BIN
    found = shutil.which("livekit-server")
    if found:
        out = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10)
        if out.stdout.strip().endswith(LIVEKIT_VERSION):
            return Path(found)
    raise PlaygroundError(
        f"missing: livekit-server {LIVEKIT_VERSION}; scripts/test-services builds it "
        "(or set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET to use another server)"
    )


def _free(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_free(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(address, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class LocalLiveKit:
    """The pinned server in dev mode on loopback: port 7880 when free, else any."""

    def __init__(self, log_dir: Path) -> None:
        binary = livekit_binary()
        port = LIVEKIT_PORT if _free(LIVEKIT_PORT) else _any_free()
        tcp, udp = _any_free(), _any_free(socket.SOCK_DGRAM)
        self.url = f"ws://127.0.0.1:{port}"
        config = (
            f"port: {port}\nrtc:\n  tcp_port: {tcp}\n  udp_port: {udp}\n"
            "  use_external_ip: false\nlogging:\n  level: info\n"
        )
        self._log = open(log_dir / "livekit.log", "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--dev", "--bind", "127.0.0.1", "--node-ip", "127.0.0.1",
             "--config-body", config],
            stdout=self._log, stderr=subprocess.STDOUT, env={"PATH": os.defpath},
            start_new_session=True,
        )  # fmt: skip

    async def ready(self) -> None:
        deadline = time.monotonic() + READY_S
        while not await asyncio.to_thread(_answers, http_url(self.url)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise PlaygroundError(f"the LiveKit server did not start: {LOG_DIR}/livekit.log")
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


# ---------------------------------------------------------------- the worker


class Worker:
    """``python -m agent start`` against the playground's LiveKit server."""

    def __init__(self, settings: Settings, url: str, key: str, secret: str, log_dir: Path) -> None:
        # the worker reads its own settings and keys from the environment, as `start`
        # does; the page's access code is not its business
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
        env.update(
            LIVEKIT_URL=url,
            LIVEKIT_API_KEY=key,
            LIVEKIT_API_SECRET=secret,
            AGENT_NAME=settings.agent_name,
            HEALTH_PORT="0",
        )
        self.log_path = log_dir / "worker.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "start"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip

    async def ready(self) -> None:
        deadline = time.monotonic() + READY_S
        while b"registered worker" not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise PlaygroundError(f"the worker did not start: see {self.log_path}")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), STOP_S)
            except TimeoutError:  # what it held is in the outbox, recovered later
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


# ---------------------------------------------------------------- the command


def local_user(settings: Settings) -> str:
    """Without Supabase, the interviews of this machine's playground belong to one local
    user, made up once and kept beside the local store (so that each report compares
    with the earlier ones)."""
    path = settings.interview_db_path.parent / "playground-user-id"
    try:
        return str(uuid.UUID(path.read_text().strip()))
    except (OSError, ValueError):
        user = str(uuid.uuid4())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(user + "\n")
        return user


def _check_host(host: str, allow_remote: bool) -> str | None:
    """The access code when served beyond loopback (``None`` on loopback)."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    if not allow_remote:
        raise PlaygroundError(
            f"--host {host} serves the page beyond this machine, and its token endpoint "
            "spends your keys: add --allow-remote (the page then asks for an access code)"
        )
    return os.environ.get("PLAYGROUND_ACCESS_CODE") or secrets.token_urlsafe(12)


async def _end_rooms(url: str, key: str, secret: str, rooms: list[str]) -> None:
    """Close the rooms this page started: each interview still running ends and is saved."""
    if not rooms:
        return
    lk = api.LiveKitAPI(http_url(url), key, secret)
    try:
        live = {r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms}
        for room in rooms:
            if room in live:
                with contextlib.suppress(Exception):
                    await lk.room.delete_room(api.DeleteRoomRequest(room=room))
    except Exception as e:
        print(f"could not close the rooms: {type(e).__name__}", file=sys.stderr)
    finally:
        await lk.aclose()


async def _run(args: argparse.Namespace, settings: Settings, code: str | None) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    server: LocalLiveKit | None = None
    worker: Worker | None = None
    runner: web.AppRunner | None = None
    playground: Playground | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if settings.livekit_url:
            url = settings.livekit_url
            if settings.livekit_api_key is None or settings.livekit_api_secret is None:
                raise PlaygroundError("LIVEKIT_URL needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET")
            key = settings.livekit_api_key.get_secret_value()
            secret = settings.livekit_api_secret.get_secret_value()
            if not await asyncio.to_thread(_answers, http_url(url)):
                raise PlaygroundError(f"the LiveKit server at {url} does not answer")
        else:
            if args.allow_remote:
                raise PlaygroundError(
                    "--allow-remote needs a LiveKit server the candidates' browsers can "
                    "reach: set LIVEKIT_URL (the local dev server listens on loopback only)"
                )
            # LiveKit's dev-mode secret is short by design: no warning for each token
            warnings.filterwarnings("ignore", message="The HMAC key is")
            server = LocalLiveKit(LOG_DIR)
            await server.ready()
            url, key, secret = server.url, DEV_KEY, DEV_SECRET
        if not args.no_worker:
            worker = Worker(settings, url, key, secret, LOG_DIR)
            await worker.ready()
        playground = Playground(
            PlaygroundConfig(
                livekit_url=url,
                api_key=key,
                api_secret=secret,
                agent_name=settings.agent_name,
                user_id=args.user_id or local_user(settings),
                access_code=code,
            ),
            settings,
            lambda: store_for(settings),
        )
        runner = web.AppRunner(web_app(playground), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as e:
            where = f"{args.host}:{args.port}"
            raise PlaygroundError(f"cannot serve on {where}: {e.strerror}") from None
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        host = f"[{shown}]" if ":" in shown else shown
        fragment = f"#code={code}" if code else ""
        print(f"Open http://{host}:{args.port}/{fragment}", flush=True)
        print(f"(Ctrl-C stops it; logs in {LOG_DIR}/)", file=sys.stderr, flush=True)
        await stop.wait()
        print("stopping: interviews in progress are ended and saved", file=sys.stderr, flush=True)
        return 0
    except PlaygroundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if runner is not None:
            await runner.cleanup()
        if playground is not None:
            await _end_rooms(url, key, secret, list(playground.rooms))
        if worker is not None:
            await worker.stop()
        if server is not None:
            server.stop()


def playground_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent playground", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="where the page is served")
    parser.add_argument("--port", type=int, default=WEB_PORT)
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve beyond loopback; the page then needs the access code "
        "(PLAYGROUND_ACCESS_CODE, or one made up and printed in the URL)",
    )
    parser.add_argument(
        "--user-id", help="Supabase mode: the user whose keys and rows these interviews are"
    )
    parser.add_argument(
        "--no-worker", action="store_true", help="a worker of yours is already registered"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.user_id is not None:
        try:
            args.user_id = str(uuid.UUID(args.user_id))
        except ValueError:
            print("error: --user-id must be a UUID (the user's auth.users id)", file=sys.stderr)
            return 2
    elif settings.supabase_url is not None:
        print(
            "error: SUPABASE_URL is set: --user-id U names whose keys and rows these "
            "interviews are (never the page)",
            file=sys.stderr,
        )
        return 2
    if not (WEB_DIR / CLIENT_SDK).is_file():
        print("error: missing the page's packages: npm ci --prefix web", file=sys.stderr)
        return 1
    try:
        code = _check_host(args.host, args.allow_remote)
    except PlaygroundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, settings, code))
