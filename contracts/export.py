"""Write (or check) ``docs/schemas/*.schema.json`` from the models.

``python -m contracts.export DIR`` writes one JSON Schema (draft 2020-12) per document;
``--check`` writes nothing and exits 1 naming each file that differs from its model.
``scripts/schemas`` runs this and then generates the TypeScript declarations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from feedback.schema import FeedbackData

from .client import AnswerCues, RpcReply, StateMessage
from .conversation import Conversation
from .metadata import DispatchMetadata

SCHEMAS: dict[str, tuple[type[BaseModel] | TypeAdapter[Any], str]] = {
    "dispatch-metadata": (DispatchMetadata, "The JSON a web app puts on the agent dispatch."),
    "conversation": (Conversation, "interviews.conversation"),
    "feedback-data": (FeedbackData, "feedback.feedback_data"),
    "interview-state": (StateMessage, "A message on the interview.state data topic."),
    "rpc-reply": (RpcReply, "The reply of interview.skip_stage, interview.end, interview.state."),
    "answer-cues": (AnswerCues, "A message on the interview.cues data topic."),
}


def _untitled_properties(node: Any) -> Any:
    """Drop the title pydantic gives every property (its name again), so that generated
    TypeScript inlines property types instead of naming an alias for each."""
    if isinstance(node, list):
        return [_untitled_properties(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _untitled_properties(v) for k, v in node.items()}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            k: {kk: vv for kk, vv in v.items() if kk != "title"} if isinstance(v, dict) else v
            for k, v in out["properties"].items()
        }
    return out


def schema(name: str) -> dict[str, Any]:
    model, what = SCHEMAS[name]
    body = model.json_schema() if isinstance(model, TypeAdapter) else model.model_json_schema()
    body = _untitled_properties(body)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:interview-agent:schema:{name}",
        **({"description": what} if "description" not in body else {}),
        **body,
    }


def rendered(name: str) -> str:
    return json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.export")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    drift = []
    for name in SCHEMAS:
        path = args.directory / f"{name}.schema.json"
        text = rendered(name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                drift.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in drift:
        print(f"{path}: differs from its model (run scripts/schemas)", file=sys.stderr)
    return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
