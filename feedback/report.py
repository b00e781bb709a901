"""The ``feedback_data`` document (docs/CONTRACTS.md), from what can be computed without a model.

Scores are never invented: this module fills in everything that is computed (answers,
keyword coverage, STAR parts, speech metrics) and leaves every score ``null`` with
``status: "partial"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stages.bank import Question, StageQuestions
from stages.definitions import StageDef
from stages.machine import StageRecord
from stages.transcript import Message

from .grounding import grounded
from .metrics import (
    SpeechSummary,
    filler_counts,
    hedge_counts,
    is_story,
    keyword_coverage,
    speech_summary,
    star_components,
    words,
    words_per_minute,
)
from .observations import coach, observations, offline_summary

FEEDBACK_SCHEMA_VERSION = 1
EXCERPT_CHARS = 300
SCORE_KEYS = ("technical", "communication", "confidence", "structure")
"""The areas every score covers (``feedback_data.scores``)."""


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _match_question(
    asked: str,
    stage: str,
    index: int,
    planned: Mapping[str, StageQuestions],
    find: Callable[[str], Question | None] | None,
) -> Question | None:
    """The question an agent turn asked: a planned or bank question whose text it
    contains (the offline interviewer asks verbatim), else the planned one by position."""
    qs = planned.get(stage, StageQuestions()).questions
    for q in qs:
        if q.text and q.text in asked:
            return q
    if find is not None and (known := find(asked)) is not None:
        return known
    # a rephrased question (online interviewer): the planned one at this position, only
    # if it is recognisably the same question; otherwise no expected keywords at all
    if 0 <= index < len(qs) and _similar(asked, qs[index].text):
        return qs[index]
    return None


def _content_words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > 3}


def _similar(asked: str, planned: str) -> bool:
    a, p = _content_words(asked), _content_words(planned)
    return bool(p) and len(a & p) / len(p) >= 0.5


ACKNOWLEDGEMENT = re.compile(
    r"^(?:thank(?:s| you)|ok(?:ay)?|got it|great|good|sure|all right|alright|right|i see|"
    r"understood|of course|perfect|nice|excellent|interesting|fair enough|no problem|"
    r"that'?s|that is|let'?s move on|moving on|appreciate)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?]+[.!?]+[\s]*|[^.!?]+$")
THANKS = re.compile(r"^(?:thank(?:s| you)|appreciate)\b", re.IGNORECASE)
ACKNOWLEDGEMENT_WORDS = (5, 10)
"""A leading sentence that opens like an acknowledgement is one when it has at most
this many words (the second: one that thanks): "I see." is, "I see Kafka on your
resume." is not."""


def asked(text: str) -> str:
    """What an interviewer turn asked, without the acknowledgement before it ("Thank
    you. Okay, got it. Could you tell me..." → "Could you tell me..."): leading sentences
    that are not questions and open like an acknowledgement are dropped, as long as
    something is left."""
    sentences = [m.group(0) for m in _SENTENCE.finditer(text.strip())]
    while len(sentences) > 1:
        first = sentences[0].strip()
        limit = ACKNOWLEDGEMENT_WORDS[1] if THANKS.match(first) else ACKNOWLEDGEMENT_WORDS[0]
        if first.endswith("?") or len(words(first)) > limit or not ACKNOWLEDGEMENT.match(first):
            break
        sentences.pop(0)
    return "".join(sentences).strip() or text


def _follow_up(m: Message, last: Message | None) -> bool:
    """An interviewer turn that asked something more about the answer (it uses no
    question slot): a question of some length that is not the last one said again."""
    said = asked(m.text)
    if "?" not in said or len(words(said)) < 5:
        return False
    return last is None or asked(last.text) not in said


def answer_pairs(messages: Sequence[Message]) -> list[tuple[Message | None, Message]]:
    """Each answer with the question it answers: the last question asked, a follow-up
    included. Requests ("could you repeat that?") are not answers, and a repeat or "take
    your time" does not replace the question."""
    pairs: list[tuple[Message | None, Message]] = []
    last_question: Message | None = None
    for m in messages:
        if m.role == "agent":
            if m.question or _follow_up(m, last_question):
                last_question = m
        elif not m.request:
            pairs.append((last_question, m))
    return pairs


def answer_stages(plan: Sequence[StageDef]) -> set[str]:
    """The stages whose candidate turns are answers (``StageDef.answers``)."""
    return {s.id for s in plan if s.answers}


def answer_messages(messages: Sequence[Message], plan: Sequence[StageDef]) -> list[Message]:
    """The candidate's message behind each answer of ``feedback_data["answers"]``, in order."""
    answering = answer_stages(plan)
    return [c for _, c in answer_pairs(messages) if (c.stage or "") in answering]


def answer_texts(messages: Sequence[Message], plan: Sequence[StageDef]) -> list[str]:
    """The full text of each answer listed in ``feedback_data["answers"]``, in order."""
    return [m.text for m in answer_messages(messages, plan)]


def computed_feedback(
    messages: Sequence[Message],
    records: Sequence[StageRecord],
    plan: Sequence[StageDef],
    planned: Mapping[str, StageQuestions],
    *,
    timed: bool,
    jd_terms: Sequence[str] = (),
    find: Callable[[str], Question | None] | None = None,
) -> dict[str, Any]:
    """The ``feedback_data`` that needs no model: every answer measured against its
    question, the candidate's speech summarised, the job description's terms checked."""
    answers: list[dict[str, Any]] = []
    speech_input: list[tuple[str, float | None]] = []
    fillers: list[dict[str, int]] = []
    pauses: list[float] = []
    per_stage_index: dict[str, int] = {}
    jd_said: set[str] = set()
    by_id = {s.id: s for s in plan}
    for agent_msg, cand in answer_pairs(messages):
        stage = cand.stage or "unknown"
        duration = (cand.ended_at - cand.started_at) if timed else None
        pause: float | None = None
        if timed and agent_msg is not None and cand.started_at >= agent_msg.ended_at:
            pause = cand.started_at - agent_msg.ended_at
            pauses.append(pause)
        # words lost to a speech-to-text outage would make the pace look slow
        speech_input.append((cand.text, None if cand.transcription_gap else duration))
        fillers.append(filler_counts(cand.text))
        mentioned, _ = keyword_coverage(cand.text, jd_terms)
        jd_said.update(mentioned)
        stage_def = by_id.get(stage)
        if stage_def is None or not stage_def.answers:
            continue
        index = per_stage_index.get(stage, 0)
        per_stage_index[stage] = index + 1
        question = _match_question(agent_msg.text if agent_msg else "", stage, index, planned, find)
        timing = (duration, pause)
        answers.append(_answer(agent_msg, cand, stage_def, question, timing, fillers[-1]))
    speech = speech_summary(speech_input, pauses, fillers)
    return _document(records, answers, speech, jd_terms, jd_said)


def _answer(
    agent_msg: Message | None,
    cand: Message,
    stage: StageDef,
    question: Question | None,
    timing: tuple[float | None, float | None],
    fillers: dict[str, int],
) -> dict[str, Any]:
    """One entry of ``feedback_data["answers"]``, measured (no score yet). ``timing``:
    how long it took and the pause before it (``None`` in text sessions)."""
    duration, pause = timing
    hit, miss = keyword_coverage(cand.text, question.keywords if question else ())
    n_words = len(words(cand.text))
    return {
        "stage": stage.id,
        "question": asked(agent_msg.text) if agent_msg else None,
        "question_id": question.id if question else None,
        "answer_excerpt": _excerpt(cand.text),
        "score": None,
        "star": star_components(cand.text) if stage.stories and is_story(cand.text) else None,
        "keywords_mentioned": hit,
        "missing_keywords": miss,
        "suggested_improvement": None,
        "words": n_words,
        "duration_s": round(duration, 1) if duration is not None else None,
        # words lost to a speech-to-text outage would make the pace look slow
        "words_per_minute": None if cand.transcription_gap else words_per_minute(n_words, duration),
        "pause_before_s": round(pause, 1) if pause is not None else None,
        "filler_words": fillers,
        "hedges": hedge_counts(cand.text),
        "what_went_well": None,
        "stronger_answer": None,
        "transcription_gap": cand.transcription_gap,
        "time_boxed": cand.time_boxed,
        "time_limit_s": round(cand.time_limit_s) if cand.time_limit_s else None,
    }


def _document(
    records: Sequence[StageRecord],
    answers: list[dict[str, Any]],
    speech: SpeechSummary,
    jd_terms: Sequence[str],
    jd_said: set[str],
) -> dict[str, Any]:
    """The computed ``feedback_data`` (status ``partial``: nothing is scored)."""
    reached = [r for r in records if r.status in ("completed", "ended", "active")]
    summary = (
        f"{len(answers)} answer(s) across {len(reached)} stage(s); "
        f"{speech.total_words} words spoken by the candidate."
    )
    return {
        "schema_version": FEEDBACK_SCHEMA_VERSION,
        "status": "partial",
        "overall_score": None,
        "scores": dict.fromkeys(SCORE_KEYS),
        "summary": summary,
        "strengths": [],
        "areas_for_improvement": [],
        "stages": [
            {"id": r.id, "status": r.status, "score": None, "feedback": None} for r in records
        ],
        "answers": answers,
        "speech": {
            "words_per_minute": speech.words_per_minute,
            "filler_words": speech.filler_words,
            "fillers_per_100_words": speech.fillers_per_100_words,
            "avg_answer_seconds": speech.avg_answer_seconds,
            "longest_pause_s": speech.longest_pause_s,
            "total_words": speech.total_words,
        },
        "job_description_terms": {
            "mentioned": [t for t in jd_terms if t in jd_said],
            "missing": [t for t in jd_terms if t not in jd_said],
        },
        "improvement_plan": {"short_term": [], "long_term": [], "practice_suggestions": []},
        "generated_by": {"model": None, "fallback": True, "error": None},
    }


def failed_feedback(reason: str) -> dict[str, Any]:
    """The ``feedback_data`` saved when computing feedback raised: the transcript is safe,
    nothing is measured or scored, and ``generated_by.error`` says why."""
    return {
        "schema_version": FEEDBACK_SCHEMA_VERSION,
        "status": "failed",
        "overall_score": None,
        "scores": dict.fromkeys(SCORE_KEYS),
        "summary": "Feedback could not be computed for this interview; the conversation is saved.",
        "strengths": [],
        "areas_for_improvement": [],
        "stages": [],
        "answers": [],
        "speech": {
            "words_per_minute": None,
            "filler_words": {},
            "fillers_per_100_words": None,
            "avg_answer_seconds": None,
            "longest_pause_s": None,
            "total_words": 0,
        },
        "job_description_terms": {"mentioned": [], "missing": []},
        "improvement_plan": {"short_term": [], "long_term": [], "practice_suggestions": []},
        "generated_by": {"model": None, "fallback": True, "error": reason},
    }


def offline_feedback(
    messages: Sequence[Message], computed: dict[str, Any], plan: Sequence[StageDef]
) -> dict[str, Any]:
    """Computed metrics plus rule-based observations, grounded in the candidate's words."""
    said = answer_texts(messages, plan)
    checked = {s.id for s in plan if s.expected_points}
    notes = observations(computed, dict(enumerate(said)), expected_points=checked)
    everything = [m.text for m in messages if m.role == "candidate"]
    strengths = grounded(notes["strengths"], everything)
    areas = grounded(notes["areas_for_improvement"], everything)
    answers = [
        {**a, **coach(a, said[i], expected_points=a["stage"] in checked)}
        for i, a in enumerate(computed["answers"])
    ]
    return {
        **computed,
        "answers": answers,
        "summary": offline_summary(computed, strengths, areas),
        "strengths": strengths,
        "areas_for_improvement": areas,
        "improvement_plan": notes["improvement_plan"],
    }
