"""The provider list of docs/PROVIDERS.md, written from the catalog.

``python -m providers.docs`` rewrites the part of docs/PROVIDERS.md between the markers;
``--check`` says whether it is current (the tests run it), so the list a reader sees is
the table the worker reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .catalog import CATALOG, Catalog, Kind

DOC = Path(__file__).resolve().parent.parent / "docs" / "PROVIDERS.md"
BEGIN = "<!-- providers: begin (python -m providers.docs) -->"
END = "<!-- providers: end -->"


def table(catalog: Catalog = CATALOG) -> str:
    """One row per provider, each kind in its default order."""
    rows = [
        "| kind | provider | key (`keys set` name) | environment | sealed column | model "
        "(default; setting) | LiveKit plugin |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in (Kind.STT, Kind.LLM, Kind.TTS):
        for rank, p in enumerate(catalog.of_kind(kind), 1):
            key = catalog.key(p.key)
            model = f"`{p.default_model}`" if p.default_model else "the operator's"
            model += f"; `{p.model_env}`"
            if key.requires:
                model += f" (needs {', '.join(f'`{r}`' for r in key.requires)})"
            if p.voice_env:
                model += f" (speaker `{p.default_voice}`; `{p.voice_env}`)"
            rows.append(
                f"| {kind.title} | {rank}. {key.label} | `{key.name}` | `{key.env}` | "
                f"`{key.column}` | {model} | `{p.plugin}` |"
            )
    return "\n".join(rows)


def render(text: str, catalog: Catalog = CATALOG) -> str:
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"{DOC.name} lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n{table(catalog)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in args:
        if wanted != current:
            print(f"{DOC}: the provider list differs from the catalog (run python -m "
                  "providers.docs)", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
