"""``python -m agent recordings status|delete``: the answers' recordings an operator keeps.

``status`` counts what waits on this machine for upload; ``delete --user-id U
[--interview-id I]`` removes a user's recordings (all, or one interview's) from the
store's bucket and from this machine: the candidate's right to have them gone
(docs/RECORDINGS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import uuid
from pathlib import Path

from agent.config import ConfigError, load_settings, store_for
from interview.recordings import LOCAL_USER, pending
from persistence import StoreError


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError("must be a UUID") from None


def _local_count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.wav") if p.is_file()) if folder.is_dir() else 0


def recordings_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent recordings")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("status", help="recordings waiting on this machine to be uploaded")
    delete = sub.add_parser("delete", help="remove a user's recordings everywhere")
    who = delete.add_mutually_exclusive_group(required=True)
    who.add_argument("--user-id", type=_uuid)
    who.add_argument("--local", action="store_true", help="the recordings saved without a user")
    delete.add_argument("--interview-id", type=_uuid, help="only this interview's")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        store = store_for(settings)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    root = settings.interview_recordings_path
    if args.action == "status":
        waiting = pending(root)
        where = "kept here (embedded store)" if not store.uploads_recordings else "to upload"
        print(f"{len(waiting)} recordings {where} under {root}")
        return 0
    prefix = args.user_id or LOCAL_USER
    if args.interview_id:
        prefix = f"{prefix}/{args.interview_id}"

    async def remove() -> int:
        try:
            return await store.delete_recordings(prefix)
        finally:
            await store.aclose()

    try:
        removed = asyncio.run(remove())
    except StoreError as e:
        print(f"error: {e}; nothing was deleted here", file=sys.stderr)
        return 1
    local = root / prefix
    here = _local_count(local)
    shutil.rmtree(local, ignore_errors=True)
    print(f"deleted {removed} from the store ({store.name}) and {here} from {root}")
    return 0
