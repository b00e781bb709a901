"""The interviewer's instructions for the current moment of the interview.

The language model never sees the whole interview: it gets the persona (with the
candidate's profile fenced as data), the current stage's template, the questions planned
for that stage, and one short line per earlier stage (the questions asked there and the
candidate's words, fenced). The resume and the job description go in full to the stages
whose definition asks for them (``StageDef.context``) and as a short excerpt to the
others that take answers (``StageDef.excerpts``). So the prompt at the 60th turn is about
the size of the prompt at the 6th.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from stages.bank import Question
from stages.definitions import StageDef
from stages.machine import StageRecord
from stages.metadata import InterviewMetadata
from stages.transcript import Message

from .loader import data_block, data_inline, render

SUMMARY_CHARS_PER_STAGE = 240
EXCERPT_CHARS = 1500
"""How much of the resume or job description a stage that only needs a reminder gets."""
Adjustment = Literal["harder", "easier"] | None

LANGUAGES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "fi": "Finnish", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian",
    "hi": "Hindi", "ja": "Japanese", "ko": "Korean", "zh": "Chinese", "ar": "Arabic",
    "id": "Indonesian", "vi": "Vietnamese",
}  # fmt: skip
"""Language names for the tags the speech-to-text model understands most often."""

_DIFFICULTY = {
    None: "",
    "harder": "Their last two answers were strong: make the next question more demanding "
    "than the planned one (deeper, or less familiar ground).",
    "easier": "Their last two answers were thin: make the next question simpler and more "
    "concrete than the planned one, to let them show what they know.",
}


def language_name(tag: str) -> str:
    base = tag.split("-")[0].lower()
    return LANGUAGES.get(base, f"the language with the tag {tag!r}")


def _suggested(questions: Sequence[Question], asked: int) -> str:
    remaining = list(questions[asked:]) or list(questions[-1:])
    if not remaining:
        return ""
    lines = ["Planned questions for this stage (rephrase freely, one short question a turn):"]
    lines += [f"- {q.text}" for q in remaining[:3]]
    if remaining[0].keywords:
        lines.append(
            "For your judgement only, never to be said or hinted: a strong answer to the "
            f"next planned question often touches on {', '.join(remaining[0].keywords)}."
        )
    return "\n".join(lines)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stage_summaries(
    messages: Sequence[Message], records: Sequence[StageRecord], current_index: int
) -> list[str]:
    """One bounded line per stage before the current one: the questions asked there and
    what the candidate said (fenced as data)."""
    lines: list[str] = []
    for rec in records[:current_index]:
        if rec.status == "skipped":
            lines.append(f"- {rec.id}: skipped.")
            continue
        here = [m for m in messages if m.stage == rec.id]
        asked = " / ".join(m.text for m in here if m.role == "agent" and m.question)
        said = " / ".join(m.text for m in here if m.role == "candidate" and not m.request)
        line = f"- {rec.id}: asked: {_bounded(asked, SUMMARY_CHARS_PER_STAGE) or 'nothing'}."
        if said:
            line += " " + data_inline("candidate_said", _bounded(said, SUMMARY_CHARS_PER_STAGE))
        lines.append(line)
    return lines


def _documents(md: InterviewMetadata, stage: StageDef) -> tuple[str, str]:
    def doc(name: Literal["resume", "job_description"], text: str | None) -> str:
        if name in stage.context:
            return data_block(name, text)
        if name in stage.excerpts and text:
            return data_block(f"{name}_excerpt", _bounded(text, EXCERPT_CHARS))
        return ""

    return doc("resume", md.resume_text), doc("job_description", md.job_description)


def interviewer_instructions(
    md: InterviewMetadata,
    stage: StageDef,
    record: StageRecord,
    planned: Sequence[Question],
    summaries: Sequence[str],
    *,
    farewell: bool = False,
    adjust: Adjustment = None,
    role_known: bool = True,
) -> str:
    """``adjust``: the last two answers were strong (``harder``) or thin (``easier``).
    ``role_known``: the bank has questions for this role (else the planned ones are
    role-neutral, and the model is asked to write its own for the role)."""
    resume, jd = _documents(md, stage)
    profile = f"name: {md.candidate_name}\nrole: {md.role_label}\nlevel: {md.experience_level}"
    persona = render(
        "persona",
        profile_block=data_block("candidate_profile", profile),
        language=language_name(md.language),
        difficulty=_DIFFICULTY[adjust],
        resume_block=resume,
        jd_block=jd,
    )
    if farewell:
        body = render("farewell")
    else:
        experience_focus = (
            "Ground your questions in the candidate's resume."
            if md.has_resume
            else "No resume was provided: ask about their most relevant recent work."
        )
        technical_focus = " ".join(
            part
            for part in (
                ""
                if role_known
                else "The planned questions below are role-neutral: prefer a question "
                "written for this role and level, drawing on the role, the job description "
                "and the resume, and never one from a different field.",
                "Relate the question to the job description where you can." if md.has_jd else "",
            )
            if part
        )
        body = render(
            stage.prompt,
            stage_id=stage.id,
            stage_title=stage.title,
            stage_goal=stage.goal,
            question_number=record.questions_asked + 1,
            max_questions=stage.max_questions,
            suggested=_suggested(planned, record.questions_asked),
            experience_focus=experience_focus,
            technical_focus=technical_focus,
        )
    parts = [persona, body]
    if summaries:
        parts.append(render("summary_header") + "\n" + "\n".join(summaries))
    return "\n\n".join(parts)
