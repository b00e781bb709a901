"""A saved interview's feedback report, found by its id or its room, with a link to each
recorded answer: what ``python -m agent report`` prints and the playground page shows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from feedback import render
from persistence import InterviewStore, SavedInterview, StoreError

from .config import Settings

SIGNED_URL_S = 3600
"""How long a report's links to the recordings of a Supabase project play."""


def _local_link(file: Path, page_dir: Path | None) -> str | None:
    """A recording on this machine as a page links to it (``None``: not here)."""
    if not file.is_file():
        return None
    target = file.resolve()
    return os.path.relpath(target, page_dir.resolve()) if page_dir else target.as_uri()


async def audio_links(
    store: InterviewStore,
    settings: Settings,
    fb: dict[str, Any],
    page_dir: Path | None,
    *,
    served: Callable[[str], str] | None = None,
) -> dict[int, str]:
    """A link for each recorded answer: a signed URL (Supabase, valid ``SIGNED_URL_S``)
    or the local file (relative to the page's folder, absolute, or, with ``served``, the
    address a web server gives it); a recording that is neither uploaded nor on this
    machine has none."""
    links: dict[int, str] = {}
    for i, answer in enumerate(fb.get("answers") or []):
        path = answer.get("audio_path") if isinstance(answer, dict) else None
        if not isinstance(path, str) or not path:
            continue
        local = _local_link(settings.interview_recordings_path / path, page_dir)
        if local is not None:  # not uploaded yet, or the embedded store's own copy
            links[i] = served(path) if served else local
        elif store.uploads_recordings:
            try:
                url = await store.recording_url(path, SIGNED_URL_S)
            except StoreError:
                url = None
            if url:
                links[i] = url
    return links


async def find_saved(store: InterviewStore, id_or_room: str) -> SavedInterview | None:
    """The interview with this id, else the latest one in the room of that name."""
    try:
        interview_id = str(uuid.UUID(id_or_room))
    except ValueError:
        return await store.latest_in_room(id_or_room)
    return await store.get(interview_id) or await store.latest_in_room(id_or_room)


def render_report(
    saved: SavedInterview, audio: dict[int, str], fmt: Literal["md", "html"]
) -> str | None:
    """The report of a saved interview (``None``: it has no feedback yet)."""
    if saved.feedback is None:
        return None
    interview = asdict(saved.interview)
    fb = saved.feedback.feedback_data
    return (
        render.html(interview, fb, audio)
        if fmt == "html"
        else render.markdown(interview, fb, audio)
    )
