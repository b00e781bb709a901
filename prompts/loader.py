"""Load prompt templates by name and render them.

Templates use ``string.Template`` placeholders (``$name``), so braces in candidate text
mean nothing. Rendering is strict: a missing variable is an error, not an empty string.
Candidate-supplied text (name, role, resume, job description, what they said) is only
ever inserted through :func:`data_block` or :func:`data_inline`, which fence it and
neutralise anything inside that looks like the fence, so it stays data whatever it says.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from string import Template


class PromptNotFound(KeyError):
    pass


@cache
def load(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise PromptNotFound(name)
    path = resources.files("prompts").joinpath(f"templates/{name}.txt")
    if not path.is_file():
        raise PromptNotFound(name)
    return path.read_text("utf-8").strip()


def load_all() -> None:
    """Read every template now (prewarm), so no job reads them from disk."""
    for entry in resources.files("prompts").joinpath("templates").iterdir():
        if entry.name.endswith(".txt"):
            load(entry.name.removesuffix(".txt"))


def render(name: str, **values: object) -> str:
    return Template(load(name)).substitute({k: str(v) for k, v in values.items()}).strip()


def _defused(tag: str, text: str) -> str:
    fence = re.compile(rf"<\s*/?\s*{re.escape(tag)}\b[^>]*>", re.IGNORECASE)
    return fence.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def data_block(tag: str, text: str | None) -> str:
    """``text`` fenced as ``<tag>...</tag>`` on its own lines; an empty string when there
    is no text."""
    if not text:
        return ""
    return f"\n<{tag}>\n{_defused(tag, text)}\n</{tag}>\n"


def data_inline(tag: str, text: str) -> str:
    """``text`` fenced as ``<tag>...</tag>`` within a line."""
    return f"<{tag}>{_defused(tag, text)}</{tag}>"
