"""``python -m agent token --room R --identity I [--metadata FILE]``: a participant token
that dispatches this worker's agent into the room as the participant joins.

For trying the interviewer by voice from any LiveKit client page (LiveKit's Meet, the
Agents Playground) while ``python -m agent dev`` runs: the token's room configuration
names ``AGENT_NAME`` with the metadata, so LiveKit dispatches the agent on join
(docs/CONTRACTS.md). The metadata is checked as the worker will check it before the token
is made. The token goes to standard output; the API secret is never printed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from agent.config import ConfigError, load_settings
from agent.tokens import make_token
from stages.metadata import MetadataError, parse_metadata


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def token_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent token", description=__doc__)
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", required=True, help="the candidate's participant identity")
    parser.add_argument("--metadata", type=Path, help="a JSON file: the dispatch metadata")
    parser.add_argument("--ttl-minutes", type=int, default=60)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as e:
        return _fail(str(e))
    if settings.livekit_api_key is None or settings.livekit_api_secret is None:
        return _fail("LIVEKIT_API_KEY and LIVEKIT_API_SECRET are needed to sign a token")
    if not args.room.strip() or not args.identity.strip():
        return _fail("--room and --identity must not be empty")
    if not 1 <= args.ttl_minutes <= 24 * 60:
        return _fail("--ttl-minutes must be between 1 and 1440")
    try:
        text = args.metadata.read_text(encoding="utf-8") if args.metadata else "{}"
    except (OSError, UnicodeDecodeError) as e:
        return _fail(f"cannot read {args.metadata}: {type(e).__name__}")
    try:
        md = parse_metadata(text, require_user=True)  # as the worker reads a dispatch
    except MetadataError as e:
        return _fail(f"metadata: {e}")
    for warning in md.warnings:
        print(f"warning: metadata: {warning}", file=sys.stderr)
    print(
        make_token(
            api_key=settings.livekit_api_key.get_secret_value(),
            api_secret=settings.livekit_api_secret.get_secret_value(),
            agent_name=settings.agent_name,
            room=args.room.strip(),
            identity=args.identity.strip(),
            metadata=text,
            ttl=timedelta(minutes=args.ttl_minutes),
        )
    )
    where = settings.livekit_url or "your LiveKit server"
    print(
        f"join room {args.room.strip()!r} at {where} with this token; the agent "
        f"{settings.agent_name!r} is dispatched when you join ({args.ttl_minutes} min)",
        file=sys.stderr,
    )
    return 0
