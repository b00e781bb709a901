"""docs/schemas/ is what the models give, and what the worker really produces fits the
models: whole generated interviews, their feedback, every error code it can send."""

from __future__ import annotations

import ast
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.config import Settings
from agent.simulate import run_simulation
from contracts import Conversation, DispatchMetadata, StateError
from contracts.export import SCHEMAS
from contracts.export import main as export_main
from feedback.schema import FeedbackData
from persistence.outbox import Outbox
from persistence.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "docs" / "schemas"


def test_the_schema_files_are_what_the_models_give(capsys):
    assert export_main([str(SCHEMA_DIR), "--check"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json")) == sorted(
        f"{name}.schema.json" for name in SCHEMAS
    )


def test_a_schema_that_drifted_from_its_model_is_caught(tmp_path, capsys):
    shutil.copytree(SCHEMA_DIR, tmp_path / "s")
    path = tmp_path / "s" / "conversation.schema.json"
    doc = json.loads(path.read_text())
    doc["$defs"]["ConversationMessage"]["properties"].pop("interrupted")
    path.write_text(json.dumps(doc, indent=2) + "\n")
    assert export_main([str(tmp_path / "s"), "--check"]) == 1
    assert "conversation.schema.json: differs from its model" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_typescript_declarations_are_what_the_schemas_give():
    """scripts/schemas --check regenerates the declarations with json-schema-to-typescript
    (pinned in clients/js) and compares them with docs/schemas/*.d.ts."""
    proc = subprocess.run([str(ROOT / "scripts" / "schemas"), "--check"], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "export interface Conversation {" in (SCHEMA_DIR / "conversation.d.ts").read_text()


def _codes(exception: str) -> set[str]:
    """Every literal code the product raises ``exception`` with."""
    found = set()
    for path in [*ROOT.glob("agent/*.py"), *ROOT.glob("stages/*.py"), *ROOT.glob("byok/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == exception
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def test_every_error_code_the_worker_sends_is_in_the_contract():
    codes = _codes("MetadataError") | _codes("KeyLoadError")
    assert {"bad_metadata", "missing_user", "key_decrypt_failed"} <= codes
    for code in codes:
        StateError.model_validate({"status": "error", "code": code, "message": "m"})


ANSWERS = [
    "I led the migration of our billing system and cut failed payments by a third.",
    "In my last role I handled twelve patients a shift and trained two new nurses.",
    "We had a conflict about priorities; I set up a weekly review and it settled.",
    "Um, I, uh, cut scope to the two features customers asked for most. 🚀",
]
NON_ANSWERS = ["Can you give me a hint?", "Sorry, what do you mean by that?", "I don't know.",
               "How am I doing so far?", "Could you repeat the question?", "No."]  # fmt: skip
REQUESTS = ["Can we skip this part?", "I'd like to end the interview now.", "Yes, end it."]
ODD = ["", "\ud83d half an emoji", "a\x00b control", "x" * 3000]
JOBS = ["Registered Nurse", "Backend Developer", "Chef", "Underwater basket weaver", None]


def _script(rng: random.Random) -> tuple[list[str], dict]:
    lines = ["Yes, I'm ready."]
    for _ in range(rng.randint(1, 18)):
        pool = rng.choices([ANSWERS, NON_ANSWERS, REQUESTS, ODD], weights=[6, 3, 1, 1])[0]
        lines.append(rng.choice(pool))
    md = {"candidate_name": rng.choice(["Ada", "José", "李雷", ""]),
          "experience_level": rng.choice(["entry", "mid", "senior", "junior", "wizard"])}  # fmt: skip
    if (job := rng.choice(JOBS)) is not None:
        md["job_role"] = job
    if rng.random() < 0.3:
        md["stages"] = rng.sample(["introduction", "experience", "technical", "behavioral"], 2)
    return lines, md


async def test_generated_whole_interviews_fit_the_contracts(tmp_path):
    """Offline interviews from random scripts (answers, non-answers, skip and end
    requests, odd text; many jobs and levels): the saved conversation, the feedback and the
    metadata all validate against the models the schemas come from."""
    settings = Settings(_env_file=None, openai_api_key=None)  # type: ignore[call-arg]
    rng = random.Random(20261203)
    store = SqliteStore(tmp_path / "interviews.db")
    try:
        for n in range(24):
            lines, md = _script(rng)
            DispatchMetadata.model_validate(md)
            result = await run_simulation(
                [line for line in lines if line], json.dumps(md), settings=settings,
                store=store, outbox=Outbox(tmp_path / f"outbox{n}.db"), offline=True,
            )  # fmt: skip
            conversation = Conversation.model_validate(result.row["conversation"])
            assert conversation.messages, (n, lines)
            FeedbackData.model_validate(result.feedback)
            assert result.row["ended_by"] is not None
    finally:
        await store.aclose()
