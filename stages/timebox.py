"""How long an answer may run, and the one sentence that moves the interview on.

A candidate who talks past an answer's time limit is not cut off mid-word or in a
thinking pause: the turn-taking waits for the end of a sentence (``stages/turns.py``
judges the words), and then waits only :data:`BOXED_WAIT_S` in the pause before the
interviewer speaks (the voice's end is heard sooner too: :data:`BOXED_SILENCE_S`),
beginning with :func:`interjection`. The answer is saved whole and marked as
time-boxed; the report coaches its length.

A limit is the question's own (``interview_questions.time_limit_seconds``, or a bundled
question's ``time_limit_s``), else its stage's ``answer_limit_s``; never longer than the
stage's share of the interview (:func:`stage_budgets`). Stages whose turns are not
answers (the greeting, the candidate's questions, the closing) have none.
"""

from __future__ import annotations

from collections.abc import Sequence

from .bank import Question
from .definitions import StageDef

BOXED_WAIT_S = 0.3
"""The pause after finished words, once an answer is past its limit, before the
interviewer speaks (a finished answer otherwise waits 0.9-1.2 s)."""
BOXED_SILENCE_S = 0.3
"""The silence that ends a stretch of the candidate's speech once an answer is past its
limit (otherwise 0.55 s): the interviewer must start within a candidate's usual pause
between sentences (0.8 s), as the candidate hears it, not after they have gone on."""
MIN_LIMIT_S = 30.0
"""No answer is boxed sooner than this, however short the interview."""


def stage_budgets(plan: Sequence[StageDef], max_duration_s: float) -> dict[str, float]:
    """Each stage's time budget, scaled down so that the plan's budgets add up to no more
    than the interview's length (a 10-minute interview gives each stage a third of its
    30-minute budget); never scaled up."""
    total = sum(s.time_budget_s for s in plan)
    factor = min(1.0, max_duration_s / total) if total > 0 else 1.0
    return {s.id: s.time_budget_s * factor for s in plan}


def answer_limit(
    stage: StageDef | None, question: Question | None, budget_s: float | None
) -> float | None:
    """How long an answer to ``question`` (``None``: a question not of the plan) in
    ``stage`` may run: its own limit, else the stage's; at most the stage's budget, at
    least :data:`MIN_LIMIT_S`. ``None``: no limit (not an answering stage)."""
    if stage is None or not stage.answers:
        return None
    own = question.time_limit_s if question is not None else None
    limit = own if own is not None else stage.answer_limit_s
    if limit is None:
        return None
    if budget_s is not None:
        limit = min(limit, budget_s)
    return max(limit, MIN_LIMIT_S)


def interjection(moved_to: StageDef | None) -> str:
    """The interviewer's one kind sentence that moves on from an answer past its limit,
    naming what there is time for: the next question (``moved_to`` is ``None``: the
    stage goes on), the next part, the candidate's questions, or the end."""
    if moved_to is None:
        return "Thank you, let me stop you there so that we have time for the next question."
    if moved_to.invites_questions:
        return "Thank you, let me stop you there so that we have time for your questions."
    if not moved_to.answers:
        return "Thank you, let me stop you there so that we can finish on time."
    return (
        "Thank you, let me stop you there so that we have time for the "
        f"{moved_to.title.lower()} questions."
    )
