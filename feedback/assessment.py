"""The model's assessment: the request it gets, and how its answer is used.

The answer must validate against :class:`~feedback.schema.Assessment`; quotes that are
not the candidate's own words are dropped; the computed metrics are kept as they are.
Nothing here calls a network: the caller sends the request.
"""

from __future__ import annotations

import json
import re
from typing import Any

from prompts import data_block, render

from .grounding import grounded
from .schema import Assessment

RESPONSE_NAME = "interview_assessment"


def request_messages(
    feedback: dict[str, Any],
    answers_said: list[str],
    *,
    job_role: str,
    experience_level: str,
    resume: str | None,
    job_description: str | None,
) -> list[dict[str, str]]:
    system = render(
        "feedback_assessment",
        profile_block=data_block(
            "candidate_profile", f"role: {job_role}\nlevel: {experience_level}"
        ),
        resume_block=data_block("resume", resume),
        jd_block=data_block("job_description", job_description),
    )
    items = [
        {
            "index": i,
            "stage": a["stage"],
            "question": a["question"],
            "answer": answers_said[i],
            "expected_points": a["keywords_mentioned"] + a["missing_keywords"],
            "points_mentioned": a["keywords_mentioned"],
            "star": a["star"],
            "partly_unheard": a.get("transcription_gap", False),
        }
        for i, a in enumerate(feedback["answers"])
    ]
    facts = {"answers": items, "speech": feedback["speech"]}
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": json.dumps(facts, ensure_ascii=False)},
    ]


def response_format() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": RESPONSE_NAME, "schema": Assessment.model_json_schema()},
    }


def parse(text: str) -> Assessment:
    """The model's JSON answer, validated (raises ``ValueError`` when it is not)."""
    return Assessment.model_validate_json(text)


def apply(
    computed: dict[str, Any], assessment: Assessment, said: list[str], *, model: str
) -> dict[str, Any]:
    """The complete ``feedback_data``: computed metrics plus grounded assessment."""
    out = json.loads(json.dumps(computed))
    out["status"] = "complete"
    out["overall_score"] = round(assessment.overall_score, 1)
    out["scores"] = {k: round(v, 1) for k, v in assessment.scores.model_dump().items()}
    out["summary"] = assessment.summary
    out["strengths"] = grounded([p.model_dump() for p in assessment.strengths], said)
    out["areas_for_improvement"] = grounded(
        [p.model_dump() for p in assessment.areas_for_improvement], said
    )
    by_index = {a.index: a for a in assessment.answers}
    for i, answer in enumerate(out["answers"]):
        if (got := by_index.get(i)) is not None:
            answer["score"] = round(got.score, 1)
            answer["what_went_well"] = got.what_went_well
            answer["suggested_improvement"] = got.suggested_improvement
            spoken = said[i] if i < len(said) else ""
            answer["stronger_answer"] = (
                got.stronger_answer if _adds_no_facts(got.stronger_answer, spoken) else None
            )
            if answer.get("star") is not None and got.star is not None:
                answer["star"] = got.star.model_dump()  # a story: the model read it
    by_stage = {s.id: s for s in assessment.stages}
    for stage in out["stages"]:
        if (got := by_stage.get(stage["id"])) is not None:
            stage["score"] = round(got.score, 1)
            stage["feedback"] = got.feedback
    out["improvement_plan"] = {
        "short_term": assessment.short_term,
        "long_term": assessment.long_term,
        "practice_suggestions": assessment.practice_suggestions,
    }
    out["generated_by"] = {"model": model, "fallback": False, "error": None}
    return out


_FACT = re.compile(r"\d[\d,.]*%?|\b[A-Z][a-zA-Z]+(?:\s[A-Z][a-zA-Z]+)*")


def _adds_no_facts(stronger: str, said: str) -> bool:
    """A stronger version may reword, never invent: every number and every capitalised
    name in it (other than a sentence's first word) must be in what the candidate said."""
    known = said.lower()
    for sentence in re.split(r"(?<=[.!?])\s+", stronger.strip()):
        for i, m in enumerate(_FACT.finditer(sentence)):
            fact = m.group(0)
            if i == 0 and m.start() == 0 and not fact[0].isdigit():
                continue
            if fact.lower() not in known and fact not in ("I", "I'm", "I've", "I'd"):
                return False
    return True
