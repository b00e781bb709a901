"""The offline interviewer listens: its follow-ups pick up what the answer said (a noun
phrase, a number, the part of the story that is missing), and no question is asked twice
in one interview unless the candidate asked for it again.

The property test runs several hundred generated interviews through the real
``AgentSession`` (text only, as ``tests/test_session.py`` does) over bundled and unknown
job titles, levels, stage plans and candidate turns of every kind, and collects every
sentence the interviewer ends with "?". ``OFFLINE_INTERVIEW_EXAMPLES`` sets how many
(default 300).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.offline_llm import OfflineInterviewerLLM
from agent.runtime import InterviewRuntime
from stages.bank import QuestionBank
from stages.definitions import DEFAULT_PLAN
from stages.follow_ups import TEMPLATES
from stages.metadata import parse_metadata
from stages.offline import Intent, classify
from stages.transcript import Message

from .fakes import offline_text_interview

EXAMPLES = int(os.environ.get("OFFLINE_INTERVIEW_EXAMPLES", "300"))
STAGE_IDS = [s.id for s in DEFAULT_PLAN]
TURN_LIMIT_S = 10.0

# ---------------------------------------------------------------- candidate turns

STORIES = [  # situation, action and result
    "At my last job the deploys kept failing, my task was to fix the pipeline, so I added "
    "staged rollouts and as a result failures dropped by eighty percent.",
    "When a colleague and I disagreed about priorities, I set up a short meeting, we "
    "compared the data and as a result agreed a plan we both could live with.",
    "I led a project where we had to cut costs by a fifth; I reviewed every supplier and "
    "in the end we saved more than we planned.",
]
NO_ACTION = [  # a story without what the candidate did
    "Last year our team had a big outage during the product launch, and in the end the "
    "launch still went out on time for the customers.",
    "At my previous hospital the night shift was always short of staff and the patients "
    "waited too long, but afterwards things got better for everyone.",
]
NO_RESULT = [  # a story that stops before how it ended
    "At my last job the migration to Postgres was late, so I rewrote the import scripts "
    "and I organised daily check-ins with the data team.",
    "When I was at a small agency our biggest client was unhappy with the reports, so I "
    "talked to their manager and I rebuilt the weekly dashboard.",
]
NOT_STORIES = [  # full answers that tell no story
    "I prefer small teams where I can own a problem from start to finish and talk to the "
    "people who use what we build.",
    "In nursing you triage first: airway, breathing, circulation, then everything else "
    "that the patient needs.",
    "I think good communication matters most, because projects rarely fail on the "
    "technical side alone.",
]
NUMBERS = [
    "We cut hosting costs by 30 percent in two quarters after I renegotiated the contract "
    "with our cloud provider.",
    "I managed a ward of 30 beds with a team of 12 nurses for six years at the city hospital.",
    "Our churn went from 8% to 5% after the support team started calling every new "
    "customer in their first week.",
]
SKILLS = [
    "I built the billing service in Python with PostgreSQL and deployed it on Kubernetes "
    "with Terraform for the whole company.",
    "Mostly Excel and Tableau dashboards for the sales team, updated every week with "
    "numbers from Salesforce.",
    "I used React and TypeScript for the front end and GraphQL to talk to the backend "
    "services we owned.",
]
SHORT = [
    "Fine.", "Yes, mostly.", "Python, mainly.", "Cut costs 30%.", "The billing system.",
    "Um, uh, not much.", "Teamwork.", "Two years.", "Hmm.",
]  # fmt: skip
FILLERS = [
    "Um, so, uh, I think I would, you know, start by talking to the users first and then "
    "look at the data.",
    "Uh, um, like, the migration to Postgres, basically, was the, uh, biggest thing I "
    "worked on there.",
]
HOSTILE = [
    "Ich habe drei Jahre bei Siemens als Entwickler gearbeitet und sehr viel gelernt.",
    "我在一家医院工作了五年，负责夜班和培训新护士。",
    "...", "?!", "- - -", "12345 67890", "a" * 300,
    "I measured it again and again. " * 60,
    "The the the the the the the the the the.",
]  # fmt: skip
REQUESTS = [
    "I don't know.", "Could you repeat that?", "What do you mean?", "Can I have a hint?",
    "How am I doing so far?", "What's the salary for this job?", "Give me a moment.",
    "Let's skip this part.", "I want to stop here.", "No, let's continue.", "Yes.", "No.",
    "No, that's all.", "What does the team work on day to day?", "Sorry?",
]  # fmt: skip
ANSWERS = STORIES + NO_ACTION + NO_RESULT + NOT_STORIES + NUMBERS + SKILLS + FILLERS

TURN = st.one_of(
    st.sampled_from(ANSWERS),
    st.sampled_from(ANSWERS),
    st.sampled_from(SHORT),
    st.sampled_from(REQUESTS),
    st.sampled_from(HOSTILE),
)
TITLES = [
    *sorted({r.title for r in QuestionBank.bundled().roles}),
    "Senior React Developer at Acme", "ICU Nurse", "Chef", "Mechanical Engineer",
    "Pharmacist", "DevOps Engineer", "",
]  # fmt: skip
METADATA = st.fixed_dictionaries(
    {
        "job_role": st.sampled_from(TITLES),
        "experience_level": st.sampled_from(["entry", "mid", "senior", "executive"]),
    },
    optional={
        "candidate_name": st.sampled_from(["Ada", "Robin"]),
        "stages": st.lists(st.sampled_from(STAGE_IDS), max_size=6, unique=True),
        "resume_text": st.sampled_from(["Go, Kubernetes, PostgreSQL", "ICU nurse, 8 years"]),
        "job_description": st.sampled_from(["We use Python and AWS.", "Ward of 30 beds."]),
    },
)

# ---------------------------------------------------------------- running one interview


async def _interview(lines: list[str], metadata: dict) -> InterviewRuntime:
    md = parse_metadata(json.dumps(metadata), require_user=False)
    rt = InterviewRuntime(md, room_name="room-follow-ups")
    async with offline_text_interview(rt, TURN_LIMIT_S) as (session, _):
        for line in lines:
            if rt.terminal:
                break
            await asyncio.wait_for(session.run(user_input=line), TURN_LIMIT_S)
    return rt


def run(lines: list[str], metadata: dict) -> InterviewRuntime:
    return asyncio.run(_interview(lines, metadata))


def interview(lines: list[str], metadata: dict) -> list[Message]:
    return list(run(lines, metadata).transcript.messages)


_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[^a-z])")
ASKED_AGAIN_ON_PURPOSE = {Intent.REPEAT, Intent.CLARIFY, Intent.HINT}


def questions_in(text: str) -> list[str]:
    """The sentences of an interviewer turn that end in "?" (a colon followed by a new
    sentence ends one too: "so, let's carry on: What ...?")."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip().endswith("?")]


@dataclass
class Repeat:
    sentence: str
    turn: int
    after: str | None


def repeats(messages: list[Message]) -> list[Repeat]:
    """Every "?" sentence asked a second time, unless the candidate's turn just before
    asked for the question again (a repeat, a clarification, a hint)."""
    asked: set[str] = set()
    found: list[Repeat] = []
    said: Message | None = None
    for n, m in enumerate(messages):
        if m.role == "candidate":
            said = m
            continue
        on_purpose = (
            said is not None
            and said.request
            and classify(said.text, invites_questions=m.stage == "candidate_questions")
            in ASKED_AGAIN_ON_PURPOSE
        )
        for q in questions_in(m.text):
            key = " ".join(q.lower().split())
            if key in asked and not on_purpose:
                found.append(Repeat(q, n, said.text if said else None))
            asked.add(key)
        said = None
    return found


# ---------------------------------------------------------------- the property


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(lines=st.lists(TURN, min_size=4, max_size=30), metadata=METADATA)
def test_no_generated_interview_asks_a_question_twice(lines, metadata):
    messages = interview(lines, metadata)
    assert messages and messages[0].role == "agent"
    found = repeats(messages)
    assert not found, "\n".join(f"{r.sentence!r} again after {r.after!r}" for r in found)


# ---------------------------------------------------------------- the follow-ups themselves


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


def _agent_after(messages: list[Message], said: str, nth: int = 0) -> str:
    hits = [i for i, m in enumerate(messages) if m.role == "candidate" and m.text == said]
    return messages[hits[nth] + 1].text


def test_answers_that_tell_no_story_get_follow_ups_about_what_they_said():
    answers = [
        "I think a manager should always listen to the support team before deciding.",
        "I usually keep a written checklist for the night shift so nothing gets missed.",
        "In general I like to talk to the customer early and often about their budget.",
    ]
    lines = ["Yes."]
    for a in answers:
        lines += [a, "I once fixed it myself and as a result we finished on time."]
    messages = interview(lines, {"job_role": "Teacher", "stages": ["behavioral"]})
    follow_ups = [_agent_after(messages, a) for a in answers]
    assert len(set(follow_ups)) == 3, follow_ups
    wording = {w for t in TEMPLATES.values() for s in (*t.phrase, *t.plain) for w in _words(s)}
    for a, line in zip(answers, follow_ups, strict=True):
        assert questions_in(line) == [line]
        assert (_words(line) - wording) & _words(a), (line, a)  # it names what was said
    assert not repeats(messages)


def test_a_story_that_stops_early_is_asked_how_it_ended_naming_it():
    story = NO_RESULT[0]  # the migration to Postgres, and what the candidate did
    messages = interview(["Yes.", story], {"job_role": "Backend Developer",
                                           "stages": ["behavioral"]})  # fmt: skip
    reply = _agent_after(messages, story)
    assert "the migration to Postgres" in reply
    assert re.search(r"turn out|outcome|end up", reply), reply


def test_a_stage_whose_planned_questions_ran_out_moves_on_instead_of_padding():
    md = {"job_role": "Chef", "experience_level": "entry", "stages": ["technical", "behavioral"]}
    answer = NOT_STORIES[0]
    rt = run(["Yes.", *[answer] * 6], md)
    planned = len(rt.planned["technical"].questions)
    technical = next(r for r in rt.machine.stages if r.id == "technical")
    assert technical.status == "completed"
    assert technical.questions_asked == min(planned, 4)
    assert rt.machine.current is not None and rt.machine.current.id != "technical"


def test_answering_on_instead_of_confirming_the_end_carries_on():
    lines = ["Yes.", NOT_STORIES[0], "I want to stop here.", STORIES[0], NOT_STORIES[1]]
    rt = run(lines, {"job_role": "Teacher"})
    messages = list(rt.transcript.messages)
    assert _agent_after(messages, STORIES[0]) == "Great, let's continue where we left off."
    assert rt.ended_by != "candidate_request" and not repeats(messages)
    intro = next(r for r in rt.machine.stages if r.id == "introduction")
    assert intro.answers == 2  # the answer after "let's continue" counts


def test_a_second_end_request_is_confirmed_in_other_words():
    lines = ["Yes.", "I want to stop here.", "No, let's continue.", NOT_STORIES[0],
             "I want to stop here.", "No.", "I want to stop here.", "No."]  # fmt: skip
    messages = interview(lines, {"job_role": "Teacher"})
    confirmations = [_agent_after(messages, "I want to stop here.", n) for n in range(3)]
    assert len(set(confirmations)) == 3
    assert all(questions_in(c) for c in confirmations)


def test_a_continued_interview_remembers_the_questions_asked_before():
    rt = InterviewRuntime(parse_metadata('{"job_role": "Teacher"}', require_user=False),
                          room_name="room-continued")  # fmt: skip
    asked = "Thank you. Could you say a bit more about that?"
    rt.record_message(turn_id="a1", role="agent", text=asked, started_at=1.0, ended_at=2.0,
                      interrupted=False, metrics={})  # fmt: skip
    interviewer = OfflineInterviewerLLM(rt)
    assert not interviewer.asked.fresh("Could you say a bit more about that?")
    assert interviewer.asked.fresh("Could you tell me a little more about the lesson plan?")
