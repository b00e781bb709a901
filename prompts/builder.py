"""The interviewer's instructions for the current moment of the interview.

The language model never sees the whole interview: it gets the persona, the current
stage's template, the questions planned for that stage, and one short line per earlier
stage. The resume and the job description go only to the stages whose definition asks for
them (``StageDef.context``). So the prompt at the 60th turn is about the size of the prompt at the
6th.
"""

from __future__ import annotations

from collections.abc import Sequence

from stages.bank import Question
from stages.definitions import StageDef
from stages.machine import StageRecord
from stages.metadata import InterviewMetadata
from stages.transcript import Message

from .loader import data_block, render

SUMMARY_CHARS_PER_STAGE = 240


def _suggested(questions: Sequence[Question], asked: int) -> str:
    remaining = list(questions[asked:]) or list(questions[-1:])
    if not remaining:
        return ""
    lines = ["Planned questions for this stage (rephrase freely; expected points in brackets):"]
    for q in remaining[:3]:
        points = f" [{', '.join(q.keywords)}]" if q.keywords else ""
        lines.append(f"- {q.text}{points}")
    return "\n".join(lines)


def stage_summaries(
    messages: Sequence[Message], records: Sequence[StageRecord], current_index: int
) -> list[str]:
    """One bounded line per stage before the current one."""
    lines: list[str] = []
    for rec in records[:current_index]:
        if rec.status == "skipped":
            lines.append(f"- {rec.id}: skipped.")
            continue
        said = " / ".join(m.text for m in messages if m.role == "candidate" and m.stage == rec.id)
        if len(said) > SUMMARY_CHARS_PER_STAGE:
            said = said[: SUMMARY_CHARS_PER_STAGE - 1].rstrip() + "…"
        quote = f' Candidate said: "{said}"' if said else ""
        lines.append(f"- {rec.id}: {rec.questions_asked} question(s).{quote}")
    return lines


def interviewer_instructions(
    md: InterviewMetadata,
    stage: StageDef,
    record: StageRecord,
    planned: Sequence[Question],
    summaries: Sequence[str],
    *,
    farewell: bool = False,
) -> str:
    resume = data_block("resume", md.resume_text) if "resume" in stage.context else ""
    jd = (
        data_block("job_description", md.job_description)
        if "job_description" in stage.context
        else ""
    )
    persona = render(
        "persona",
        candidate_name=md.candidate_name,
        job_role=md.role_label,
        experience_level=md.experience_level,
        resume_block=resume,
        jd_block=jd,
    )
    if farewell:
        body = render("farewell", candidate_name=md.candidate_name)
    else:
        experience_focus = (
            "Ground your questions in the candidate's resume below."
            if md.has_resume
            else "No resume was provided: ask about their most relevant recent work."
        )
        technical_focus = (
            "Relate the question to the job description below where you can." if md.has_jd else ""
        )
        body = render(
            stage.prompt,
            candidate_name=md.candidate_name,
            job_role=md.role_label,
            experience_level=md.experience_level,
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
