"""``python -m agent COMMAND``.

LiveKit's own commands (``dev``, ``start``, ``console``, ``connect``, ``download-files``)
go to LiveKit's CLI after our configuration check; ``simulate`` is ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from livekit.agents import cli as lk_cli

from persistence import StoreError
from stages.metadata import MetadataError

from .config import ConfigError, load_settings, store_for
from .log import install_redaction

LIVEKIT_COMMANDS = ("dev", "start", "console", "connect", "download-files")
OUR_COMMANDS = ("simulate",)
USAGE = """usage: python -m agent COMMAND [options]
  dev | start       run the worker (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)
  console [--text]  talk to the interviewer in this terminal
  simulate          a scripted interview:
                    --script FILE [--metadata FILE] [--offline] [--json] [--room NAME]
  download-files    fetch model files (Docker build step)"""


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _livekit(argv: list[str]) -> int:
    command = argv[0]
    try:
        settings = load_settings()
        if command in ("dev", "start"):
            settings.require_livekit()
    except ConfigError as e:
        return _fail(str(e))
    from .worker import build_server

    sys.argv = [sys.argv[0], *argv]
    lk_cli.run_app(build_server(settings))
    return 0


def _simulate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent simulate",
        description="Run a whole interview from a script (one candidate utterance per line).",
    )
    parser.add_argument("--script", required=True, type=Path, help="script file")
    parser.add_argument("--metadata", type=Path, help="dispatch metadata JSON file")
    parser.add_argument("--offline", action="store_true", help="use the offline interviewer")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--room", help="room name to save the interview under")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_redaction()
    try:
        settings = load_settings()
        store = store_for(settings)
        script = args.script.read_text("utf-8")
        metadata = args.metadata.read_text("utf-8") if args.metadata else None
    except ConfigError as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"cannot read {e.filename}: {e.strerror}")
    from .simulate import run_simulation, script_lines

    try:
        result = asyncio.run(
            run_simulation(
                script_lines(script),
                metadata,
                settings=settings,
                store=store,
                offline=args.offline,
                room_name=args.room,
            )
        )
    except MetadataError as e:
        return _fail(f"bad metadata ({e.code}): {e}")
    except StoreError as e:
        return _fail(f"interview not saved: {e}", 1)
    if args.json:
        print(json.dumps({**result.row, "feedback": result.feedback}, ensure_ascii=False))
    else:
        print(render_text(result.row))
        where = store.name if store.name != "sqlite" else f"sqlite ({settings.interview_db_path})"
        print(f"\nsaved to {where} as interview {result.interview_id}")
    return 0


def render_text(row: dict) -> str:
    lines = [
        f"Interview {row['room_name']}: {row.get('job_role')} ({row.get('experience_level')})",
        "",
    ]
    for m in row["conversation"]["messages"]:
        who = "Interviewer" if m["role"] == "agent" else "Candidate"
        lines.append(f"[{m['stage']}] {who}: {m['text']}")
    skipped = ", ".join(row["skipped_stages"]) or "none"
    lines += [
        "",
        f"ended_by: {row['ended_by']}   final_stage: {row['final_stage']}   skipped: {skipped}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = argv[0]
    if command in LIVEKIT_COMMANDS:
        return _livekit(argv)
    if command == "simulate":
        return _simulate(argv[1:])
    return _fail(f"unknown command {command!r}; try --help")
