"""Questions from the product database, when it has some for the role."""

from __future__ import annotations

import asyncio
import logging

from persistence import InterviewStore, StoredQuestion
from stages.bank import DIFFICULTY_LEVELS, Question

logger = logging.getLogger("interview.questions")

LOOKUP_BUDGET_S = 2.0


def to_bank_question(q: StoredQuestion) -> Question:
    return Question(
        id=f"db-{q.id}",
        text=q.text,
        keywords=q.keywords,
        levels=DIFFICULTY_LEVELS.get(q.difficulty, ("entry", "mid", "senior", "executive")),
        difficulty=q.difficulty,
        time_limit_s=q.time_limit_s,
    )


async def stored_questions(
    store: InterviewStore, job_role: str | None
) -> tuple[list[Question], list[Question]]:
    """(technical, behavioral) questions for ``job_role``; empty on any failure or delay."""
    if not job_role:
        return [], []
    try:
        rows = await asyncio.wait_for(store.questions_for_role(job_role), LOOKUP_BUDGET_S)
    except Exception as e:
        logger.warning("question lookup failed (%s); using the bundled bank", type(e).__name__)
        return [], []
    technical = [to_bank_question(q) for q in rows if q.question_type == "technical"]
    behavioral = [
        to_bank_question(q) for q in rows if q.question_type in ("behavioral", "situational")
    ]
    return technical, behavioral
