"""Serve OSV's ``POST /v1/query`` from a local copy of an OSV advisory database.

    python scripts/osv_query_server.py ADVISORY_DIR PORT_FILE

For auditing where api.osv.dev is out of reach: ``pip-audit -s osv --osv-url`` points at
this server, which answers from the OSV records (YAML or JSON, any depth) under
``ADVISORY_DIR`` — a checkout of pypa/advisory-database or one of its mirrors. Listens on
127.0.0.1 on a free port, writes the port to ``PORT_FILE`` once ready.

A version is affected by a record when it is listed in ``affected[].versions`` or falls
in one of its ``ECOSYSTEM`` ranges, evaluated as the OSV schema describes: events in
version order, ``introduced`` opens, ``fixed`` closes (exclusive), ``last_affected``
closes (inclusive).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def load(root: Path) -> dict[str, list[dict[str, Any]]]:
    by_package: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        record = (
            json.loads(text)
            if path.suffix == ".json"
            # every scalar as written: versions such as 1.10 must not become floats,
            # nor timestamps datetimes
            else yaml.load(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
        )
        if not isinstance(record, dict) or "id" not in record:
            continue
        for affected in record.get("affected") or []:
            pkg = affected.get("package") or {}
            if pkg.get("ecosystem") == "PyPI" and pkg.get("name"):
                by_package[canonicalize_name(pkg["name"])].append(record)
    return by_package


def _v(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def in_range(version: Version, events: list[dict[str, str]]) -> bool:
    """OSV ECOSYSTEM range evaluation for one range's events."""
    ordered: list[tuple[Version, int, str]] = []
    for event in events:
        for kind, raw in event.items():
            at = Version("0") if raw == "0" else _v(raw)
            if at is not None and kind in ("introduced", "fixed", "last_affected"):
                # at equal versions "introduced" comes before a closing event
                ordered.append((at, 0 if kind == "introduced" else 1, kind))
    affected = False
    for at, _, kind in sorted(ordered):
        if kind == "introduced" and version >= at:
            affected = True
        elif kind == "fixed" and version >= at:
            affected = False
        elif kind == "last_affected" and version > at:
            affected = False
    return affected


def affects(record: dict[str, Any], name: str, version: Version) -> bool:
    for affected in record.get("affected") or []:
        pkg = affected.get("package") or {}
        if pkg.get("ecosystem") != "PyPI" or canonicalize_name(pkg.get("name", "")) != name:
            continue
        if any(_v(str(v)) == version for v in affected.get("versions") or []):
            return True
        for r in affected.get("ranges") or []:
            if r.get("type") == "ECOSYSTEM" and in_range(version, r.get("events") or []):
                return True
    return False


def main() -> None:
    root, port_file = Path(sys.argv[1]), Path(sys.argv[2])
    db = load(root)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            name = canonicalize_name(body["package"]["name"])
            version = _v(body["version"])
            vulns = [
                r
                for r in db.get(name, [])
                if version is not None and not r.get("withdrawn") and affects(r, name, version)
            ]
            out = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    print(f"{sum(map(len, db.values()))} advisories for {len(db)} packages", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
