"""Hundreds of generated whole interviews, each through the real ``AgentSession``, the
outbox and the store: every one is saved exactly once, every line verbatim, totals right.

The interviews mix answers (with fillers), skips, repeats, "give me a moment", end
requests confirmed or withdrawn, candidate questions, requests for a hint or a verdict,
text with lone surrogates, control characters, emoji and other scripts, over random stage
plans, jobs (bundled and not) and levels. ``INTERVIEW_PROPERTY_EXAMPLES`` sets how many
(default 200).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import Settings
from agent.simulate import run_simulation
from feedback.schema import FeedbackData
from persistence import SqliteStore
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore
from stages.definitions import DEFAULT_PLAN
from stages.machine import ENDED_BY_VALUES
from stages.text import clean_text

EXAMPLES = int(os.environ.get("INTERVIEW_PROPERTY_EXAMPLES", "200"))
STAGE_IDS = [s.id for s in DEFAULT_PLAN]

ANSWERS = [
    "I built a billing service in Python that handles two million invoices a month.",
    "Um, so, uh, I think I would, you know, start by talking to the users first.",
    "At my last job the deploys kept failing, my task was to fix the pipeline, so I added "
    "staged rollouts and as a result failures dropped by eighty percent.",
    "I prefer small teams where I can own a problem from start to finish.",
    "In nursing you triage first: airway, breathing, circulation, then everything else.",
    "I once disagreed with my manager about a launch date and we agreed on a smaller scope.",
]
REQUESTS = [
    "Let's skip this part.",
    "Could you repeat the question?",
    "Give me a moment to think.",
    "I want to stop here.",
    "No, let's continue.",
    "Yes.",
    "No.",
    "Can you give me a hint?",
    "Sorry, what do you mean by that?",
    "How am I doing so far?",
    "How did I do?",
    "What does the team work on day to day?",
    "I don't know.",
    "Um, uh, um, yes, I'm, uh, ready.",
]
WEIRD = st.text(
    alphabet=st.characters(
        codec=None,
        categories=("L", "N", "P", "S", "Zs", "Cc", "Cs", "Mn"),
    ),
    min_size=1,
    max_size=120,
)
LINE = st.one_of(
    st.sampled_from(ANSWERS),
    st.sampled_from(REQUESTS),
    WEIRD,
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(ANSWERS), WEIRD),
    st.builds(lambda n: " ".join(["I measured it again and again."] * n), st.integers(20, 200)),
).filter(lambda line: clean_text(line).strip() != "")

METADATA = st.fixed_dictionaries(
    {},
    optional={
        "job_role": st.sampled_from(
            [
                "Backend Developer",
                "Nurse",
                "Civil Engineer",
                "Sales Manager",
                "Data\x00 Analyst",
                "Financial Analyst",
                "Teacher",
                "",
                "Ada \ud83d Lovelace",
            ]
        ),
        "experience_level": st.sampled_from(
            ["entry", "mid", "senior", "executive", "junior", "lead", "wizard"]
        ),
        "candidate_name": st.one_of(st.sampled_from(["Ada", "Grace \ud83d", ""]), WEIRD),
        "stages": st.lists(st.sampled_from(STAGE_IDS), max_size=7, unique=True),
        "resume_text": st.sampled_from(["Go, Kubernetes, PostgreSQL", "ICU nurse, 8 years"]),
        "job_description": st.sampled_from(["We use Python and AWS.", "Ward of 30 beds."]),
    },
)


def _run(lines: list[str], metadata: dict, work: Path) -> tuple:
    async def go():
        store = SqliteStore(work / "interviews.db")
        try:
            return await run_simulation(
                lines,
                json.dumps(metadata),
                settings=Settings(_env_file=None),
                store=store,
                outbox=Outbox(work / "outbox.db"),
                offline=True,
            )
        finally:
            await store.aclose()

    return asyncio.run(go())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(lines=st.lists(LINE, min_size=1, max_size=24), metadata=METADATA)
def test_every_generated_interview_is_saved_once_and_verbatim(lines, metadata):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = _run(lines, metadata, work)
        assert result.interview_id is not None, "not saved"
        db = sqlite3.connect(work / "interviews.db")
        assert db.execute("select count(*) from interviews").fetchone() == (1,)
        assert db.execute("select count(*) from feedback").fetchone() == (1,)
        assert (
            Outbox(work / "outbox.db")._call(
                lambda c: (
                    c.execute("select count(*) from pending").fetchone()[0]
                    + c.execute("select count(*) from checkpoints").fetchone()[0]
                )
            )
            == 0
        )
        row = result.row
        conversation = json.loads(db.execute("select conversation from interviews").fetchone()[0])
        assert conversation == row["conversation"]
        messages = conversation["messages"]

    # every line the session took is saved verbatim (cleaned), in order
    fed = [clean_text(line).strip() for line in lines]
    said = " ".join(m["text"] for m in messages if m["role"] == "candidate")
    taken = [i for i in range(len(fed) + 1) if " ".join(fed[:i]) == said]
    assert taken, f"saved candidate text is not the script's prefix: {said[:200]!r}"
    if row["ended_by"] == "candidate_left":
        assert taken[-1] == len(fed)  # the script ran out: every line was heard
    assert all(m["text"].strip() for m in messages)

    # totals and stages agree with the messages
    totals = row["total_messages"]
    assert totals["agent"] == sum(m["role"] == "agent" for m in messages)
    assert totals["candidate"] == sum(m["role"] == "candidate" for m in messages)
    assert sum(v["agent"] + v["candidate"] for v in totals["by_stage"].values()) == len(messages)
    plan = row["metadata"]["plan"]
    assert [s["id"] for s in conversation["stages"]] == plan
    assert row["ended_by"] in ENDED_BY_VALUES and row["final_stage"] in (*plan, None)
    for s in conversation["stages"]:
        assert 0 <= s["answers"] <= s["questions_asked"], s
        assert s["status"] in ("completed", "skipped", "not_reached", "ended")
    assert row["skipped_stages"] == [
        s["id"] for s in conversation["stages"] if s["status"] == "skipped"
    ]
    spoken = sum(1 for s in conversation["stages"] if s["skip_source"] == "spoken")
    assert spoken <= totals["candidate"]  # at most one skip per candidate turn

    # feedback is computed for whatever was said, and is never made up
    fb = result.feedback
    FeedbackData.model_validate(fb)
    assert fb["status"] == "partial" and fb["overall_score"] is None
    answers = [m["text"] for m in messages if m["role"] == "candidate"]
    for point in fb["strengths"] + fb["areas_for_improvement"]:
        assert any(point["evidence"].lower() in a.lower() for a in answers)


@pytest.mark.stack
@settings(
    max_examples=max(10, EXAMPLES // 8),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(lines=st.lists(LINE, min_size=1, max_size=12), metadata=METADATA)
def test_generated_interviews_reach_postgresql_verbatim(supabase_stack, lines, metadata):
    """The same promise against PostgreSQL, whose jsonb refuses what SQLite accepts."""

    async def go():
        store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                return await run_simulation(
                    lines, json.dumps(metadata), settings=Settings(_env_file=None), store=store,
                    outbox=Outbox(Path(tmp) / "outbox.db"), offline=True,
                )  # fmt: skip
            finally:
                await store.aclose()

    result = asyncio.run(go())
    assert result.interview_id is not None
    saved = json.loads(
        supabase_stack.psql(
            f"select conversation::text from interviews where id = '{result.interview_id}'"
        )
    )
    assert saved["messages"] == result.row["conversation"]["messages"]
    assert (
        supabase_stack.psql(
            f"select count(*) from feedback where interview_id = '{result.interview_id}'"
        )
        == "1"
    )
