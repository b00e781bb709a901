"""A stage is data: one defined only here runs through a whole interview."""

from __future__ import annotations

import asyncio

from agent.runtime import InterviewRuntime
from feedback.schema import FeedbackData
from interview.rows import SessionFacts, build_records
from stages.definitions import CLOSING, GREETING, QuestionSource, StageDef, build_plan
from stages.metadata import parse_metadata

from .fakes import offline_text_interview

CASE_STUDY = StageDef(
    id="case_study",
    title="Case study",
    goal="Work through one realistic problem from the role, out loud.",
    prompt="stage_default",
    min_questions=1,
    max_questions=2,
    time_budget_s=300,
    skippable=True,
    questions=QuestionSource(
        texts=(
            "Our clinic loses a third of its appointments to no-shows. How would you cut that?",
            "Which number would you watch first to know it is working?",
        )
    ),
    answers=True,
)
CATALOG = (GREETING, CASE_STUDY, CLOSING)
SAID = [
    "Yes, I'm ready.",
    "I would send a text reminder two days before and again on the morning of the visit.",
    "The no-show rate for each clinic, week by week, against the month before.",
]


async def test_a_stage_defined_only_in_test_data_runs_a_whole_interview():
    md = parse_metadata('{"job_role": "Clinic Manager"}', require_user=False)
    md.plan = build_plan(["case_study"], catalog=CATALOG)
    rt = InterviewRuntime(md, room_name="room-case-study")
    async with offline_text_interview(rt) as (session, driver):
        await session.run(user_input=SAID[0])
        # the online interviewer would be told about the stage from its definition alone
        assert rt.machine.current is CASE_STUDY
        assert "Current stage: case_study (Case study)" in rt.instructions()
        assert CASE_STUDY.goal in rt.instructions()
        for line in SAID[1:]:
            await session.run(user_input=line)
        await asyncio.wait_for(driver.ended.wait(), 10)
    m = rt.machine
    assert m.ended_by == "completed"
    assert [r.status for r in m.stages] == ["completed", "completed", "completed"]
    asked = [x.text for x in rt.transcript.messages if x.role == "agent"]
    assert any(CASE_STUDY.questions.texts[0] in a for a in asked)
    assert any(CASE_STUDY.questions.texts[1] in a for a in asked)
    interview, feedback = build_records(rt, SessionFacts(mode="test", models={}), revision=1)
    FeedbackData.model_validate(feedback.feedback_data)
    answers = feedback.feedback_data["answers"]
    assert [a["stage"] for a in answers] == ["case_study", "case_study"]
    assert [a["answer_excerpt"] for a in answers] == SAID[1:]
    assert [s["id"] for s in interview.conversation["stages"]] == [
        "greeting",
        "case_study",
        "closing",
    ]
