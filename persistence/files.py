"""Local files that hold transcripts and names: created ``0600`` in a ``0700`` folder."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def private_file(path: Path) -> None:
    """Make sure ``path`` exists and only its owner can read it.

    A missing folder is created ``0700`` (an existing one is left as it is: it may be
    shared); a missing file is created ``0600``; an existing file of ours that others can
    read is narrowed to ``0600``.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_IMODE(mode) & 0o077 and os.fstat(fd).st_uid == os.geteuid():
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
