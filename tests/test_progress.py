"""Progress across interviews: this interview next to the same user's earlier ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedback import render
from feedback.progress import FIGURES, figures_of, progress
from feedback.schema import Progress
from persistence import PastInterview

ROOT = Path(__file__).resolve().parent.parent


def fb(fillers: float | None, coverage: tuple[int, int], stories: int, score: float | None,
       words: tuple[int, ...] = (40, 60), wpm: float | None = 140.0) -> dict:  # fmt: skip
    hit, missed = coverage
    answers = [
        {"words": w, "keywords_mentioned": ["a"] * hit if i == 0 else [],
         "missing_keywords": ["b"] * missed if i == 0 else [],
         "star": {"situation": True, "task": True, "action": True, "result": True}
         if i < stories else None}
        for i, w in enumerate(words)
    ]  # fmt: skip
    return {
        "overall_score": score,
        "speech": {"fillers_per_100_words": fillers, "words_per_minute": wpm},
        "answers": answers,
    }


def past(n: int, role: str | None, doc: dict | None) -> PastInterview:
    return PastInterview(f"id-{n}", f"2026-11-{n:02d}T10:00:00+00:00", role, "mid", "completed",
                         doc)  # fmt: skip


def test_a_first_interview_says_so() -> None:
    got = progress(fb(3.0, (1, 1), 0, None), interview_id="now", date="d", job_role="Nurse",
                   earlier=[])  # fmt: skip
    Progress.model_validate(got)
    assert got["first"] is True and got["compared_with"]["interviews"] == 0
    assert got["figures"]["fillers_per_100_words"]["before"] is None
    assert [h["interview_id"] for h in got["history"]] == ["now"]
    head, rows = render.progress_lines({"progress": got})
    assert "first practice interview" in head and rows == []


def test_the_same_role_is_compared_first_and_better_means_the_right_way() -> None:
    earlier = [  # newest first, as the store gives them
        past(3, "Data Analyst", fb(9.0, (0, 4), 0, 2.0)),
        past(2, "backend developer", fb(4.0, (1, 3), 0, 5.0)),
        past(1, "Backend Developer", fb(6.0, (1, 1), 1, 6.0)),
    ]
    got = progress(fb(2.0, (3, 1), 2, 7.0, words=(100, 120), wpm=150.0), interview_id="now",
                   date="d", job_role="Backend Developer", earlier=earlier)  # fmt: skip
    Progress.model_validate(got)
    assert got["compared_with"] == {"interviews": 2, "same_role": True,
                                    "job_role": "Backend Developer"}  # fmt: skip
    f = got["figures"]
    assert f["fillers_per_100_words"] == {"label": "filler words per 100 words", "now": 2.0,
                                          "before": 5.0, "change": -3.0, "better": True}  # fmt: skip
    assert f["point_coverage"]["before"] == 37.5 and f["point_coverage"]["better"] is True
    assert f["complete_stories"]["now"] == 2 and f["complete_stories"]["better"] is True
    assert f["overall_score"]["change"] == 1.5 and f["overall_score"]["better"] is True
    # pace and length have a good range, not a direction
    assert f["words_per_minute"]["better"] is None and f["words_per_answer"]["change"] == 60
    assert [h["interview_id"] for h in got["history"]] == ["id-1", "id-2", "now"]
    head, rows = render.progress_lines({"progress": got})
    assert head == "Compared with your 2 earlier interviews for Backend Developer (their average):"
    assert ("filler words per 100 words", "5", "2", "-3 (better)") in rows


def test_another_role_is_compared_with_everything_before() -> None:
    earlier = [past(1, "Teacher", fb(4.0, (0, 0), 0, None))]
    got = progress(fb(5.0, (0, 0), 0, None), interview_id="now", date="d",
                   job_role="Nurse", earlier=earlier)  # fmt: skip
    assert got["compared_with"] == {"interviews": 1, "same_role": False, "job_role": None}
    assert got["figures"]["fillers_per_100_words"]["better"] is False
    assert got["figures"]["point_coverage"]["now"] is None  # no expected points at all


docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
odd_feedback = st.dictionaries(
    st.sampled_from(["overall_score", "speech", "answers", "status"]), docs, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(odd_feedback, st.lists(st.one_of(st.none(), odd_feedback), max_size=25))
@example({"overall_score": float("inf")}, [])  # a score JSON cannot carry
@example({"overall_score": 7.0}, [{"overall_score": float("nan")}])
def test_any_earlier_documents_give_a_valid_progress(now, earlier_docs) -> None:
    """Old, partial or odd feedback documents never break progress: what cannot be read
    is unknown (null), and the result always validates."""
    earlier = [past(i % 28 + 1, "R", d) for i, d in enumerate(earlier_docs)]
    got = progress(now, interview_id="now", date="d", job_role="R", earlier=earlier)
    Progress.model_validate(got)
    json.dumps(got, allow_nan=False)
    assert len(got["history"]) <= 10 and got["history"][-1]["this"] is True
    assert set(got["figures"]) == {f.key for f in FIGURES} == set(figures_of(now))


def simulate(work: Path, role: str) -> dict:
    (work / "md.json").write_text(json.dumps({"job_role": role, "experience_level": "mid"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--offline", "--json",
         "--script", str(ROOT / "examples" / "practice-script.txt"),
         "--metadata", str(work / "md.json")],
        capture_output=True, text=True, timeout=180, cwd=work,
        env={**env, "INTERVIEW_DB_PATH": str(work / "i.db"), "PYTHONPATH": str(ROOT),
             "INTERVIEW_OUTBOX_PATH": str(work / "o.db")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("roles", [("Backend Developer", "Backend Developer", "Teacher")])
def test_local_practice_interviews_are_compared_with_each_other(tmp_path, roles) -> None:
    first, second, third = (simulate(tmp_path, role) for role in roles)
    assert first["feedback"]["progress"]["first"] is True
    p2 = second["feedback"]["progress"]
    assert p2["first"] is False and p2["compared_with"]["same_role"] is True
    assert [h["interview_id"] for h in p2["history"]] == [first["id"], second["id"]]
    p3 = third["feedback"]["progress"]
    assert p3["compared_with"] == {"interviews": 2, "same_role": False, "job_role": None}
    before = p3["figures"]["words_per_answer"]["before"]
    assert before == pytest.approx(
        (p2["now"]["words_per_answer"] + first["feedback"]["progress"]["now"]["words_per_answer"])
        / 2,
        abs=0.01,
    )
