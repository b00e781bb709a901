"""Feedback: hand-counted metric fixtures, the model's assessment through a local
OpenAI-compatible server in every failure mode, and the schema of every saved document."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import Settings
from agent.plugins import openai_client
from agent.runtime import InterviewRuntime
from feedback.grounding import is_verbatim
from feedback.metrics import (
    filler_counts,
    fillers_per_100_words,
    keyword_coverage,
    speech_summary,
    star_components,
    words_per_minute,
)
from feedback.report import answer_pairs, asked
from feedback.schema import FeedbackData
from interview.assessor import Assessor
from interview.rows import SessionFacts, build_records
from providers import ProviderKeys
from stages.metadata import parse_metadata
from stages.transcript import Message

from .fake_openai import FakeOpenAI

# --------------------------------------------------------------- metric fixtures


def test_filler_counts_by_kind_hand_counted():
    text = "Um, so I, uh, I mean, we kind of built it. Um... basically it worked, you know? Erm."
    assert filler_counts(text) == {"um": 2, "uh": 1, "erm": 1, "you know": 1, "i mean": 1,
                                   "kind of": 1, "basically": 1}  # fmt: skip
    assert filler_counts("I like umbrellas and a kind person.") == {}  # no false hits
    assert fillers_per_100_words(4, 80) == 5.0
    assert fillers_per_100_words(0, 0) is None


def test_words_per_minute_from_timed_words():
    assert words_per_minute(150, 60.0) == 150.0
    assert words_per_minute(45, 20.0) == 135.0
    assert words_per_minute(10, None) is None  # text mode: no made-up number
    summary = speech_summary([("one two three four", 2.0), ("five six", 2.0)], [1.5, 3.25])
    assert summary.words_per_minute == 90.0  # 6 words in 4 s
    assert summary.avg_answer_seconds == 2.0
    assert summary.longest_pause_s == 3.2  # rounded to one decimal (3.25 -> 3.2)
    untimed = speech_summary([("one two", None)], [])
    assert untimed.words_per_minute is None and untimed.longest_pause_s is None


def test_keyword_coverage_with_loose_stems_and_phrases():
    hit, miss = keyword_coverage(
        "Relational databases give ACID transactions; document stores scale out.",
        ["relational", "document", "scalability", "acid", "consistency", "block scope"],
    )
    assert hit == ["relational", "document", "acid"]
    assert miss == ["scalability", "consistency", "block scope"]
    assert keyword_coverage("Block-scoped variables", ["block scope"])[0] == []
    assert keyword_coverage("it uses block scope", ["block scope"])[0] == ["block scope"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("When I was at my previous company we had a flaky deploy. My task was to fix it. "
         "I decided to add canary releases, and as a result incidents dropped 40%.",
         {"situation": True, "task": True, "action": True, "result": True}),
        ("I decided to rewrite the service and I built a queue.",
         {"situation": False, "task": False, "action": True, "result": False}),
        ("We were late. The goal was to ship by Friday.",
         {"situation": True, "task": True, "action": False, "result": False}),
        # fillers between "I" and the verb; verbs no hand list would hold
        ("I, uh, cut scope to the two features customers asked for most.",
         {"situation": False, "task": False, "action": True, "result": False}),
        ("I um, you know, dockerized the build and I personally benchmarked it.",
         {"situation": False, "task": False, "action": True, "result": False}),
        # being, having, wishing and feeling are not actions
        ("I was on call, I had a pager and I wanted to help. I felt tired.",
         {"situation": False, "task": False, "action": False, "result": False}),
    ],
)  # fmt: skip
def test_star_tagging(answer, expected):
    assert star_components(answer) == expected


STORIES = [
    "When I was at my previous company we had a flaky deploy. My task was to fix it. "
    "I decided to add canary releases, and as a result incidents dropped 40%.",
    "At my last job I led the migration to Postgres and I rewrote the billing jobs.",
    "I negotiated a discount with the vendor; in the end we saved money.",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(STORIES), st.data())
def test_fillers_anywhere_never_change_the_story_parts(story, data):
    """What counts is what the candidate said, however many "um"s they said it with."""
    said = story.split(" ")
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(said)))
        filler = data.draw(st.sampled_from(["um", "uh,", "you know,", "I mean,", "erm", "uh"]))
        said.insert(at, filler)
    assert star_components(" ".join(said)) == star_components(story)


@pytest.mark.parametrize(
    ("turn", "shown"),
    [
        ("Thank you. Could you walk me through your background?",
         "Could you walk me through your background?"),
        ("Okay, got it. To start, could you tell me a little about yourself?",
         "To start, could you tell me a little about yourself?"),
        ("Thanks, that's helpful. Describe a situation where you had to balance debt and features.",
         "Describe a situation where you had to balance debt and features."),
        # context that belongs to the question stays
        ("I see. I see Kafka on your resume. Could you tell me about a project with it?",
         "I see Kafka on your resume. Could you tell me about a project with it?"),
        ("Imagine a customer calls, angry about a late delivery. What would you do?",
         "Imagine a customer calls, angry about a late delivery. What would you do?"),
        ("Great.", "Great."),
    ],
)  # fmt: skip
def test_the_question_is_shown_without_the_acknowledgement(turn, shown):
    assert asked(turn) == shown


def test_an_answer_to_a_follow_up_is_paired_with_the_follow_up():
    def msg(role, text, question=True, request=False):
        return Message(role=role, text=text, stage="experience", started_at=0, ended_at=0,
                       question=question, request=request)  # fmt: skip

    planned = msg("agent", "Okay. How did you first get into Kafka?")
    follow = msg("agent", "You mentioned Docker. What was the hardest part of it?", question=False)
    again = msg("agent", "Of course. You mentioned Docker. What was the hardest part of it?",
                question=False)  # fmt: skip
    wait = msg("agent", "Of course, take your time.", question=False)
    pairs = answer_pairs([
        planned, msg("candidate", "Through a team project."),
        follow, msg("candidate", "Could you repeat that?", request=True),
        again, msg("candidate", "Give me a moment.", request=True),
        wait, msg("candidate", "Networking between containers."),
    ])  # fmt: skip
    assert [(q.text if q else None, a.text) for q, a in pairs] == [
        (planned.text, "Through a team project."),
        (follow.text, "Networking between containers."),
    ]


def test_verbatim_check_ignores_case_space_and_quote_marks_only():
    said = ["I rebuilt the matching logic in Python,   and errors fell by half."]
    assert is_verbatim("“I rebuilt the matching logic in python, and errors fell by half.”", said)
    assert not is_verbatim("I rebuilt the matching logic in Go", said)
    assert not is_verbatim("", said)


def test_a_quote_of_fewer_than_four_words_proves_nothing():
    said = ["I rebuilt the matching logic in Python, and errors fell by half."]
    for fragment in ("ing", "I rebuilt", "errors fell by"):
        assert not is_verbatim(fragment, said), fragment
    assert is_verbatim("errors fell by half", said)
    assert is_verbatim("Yes, I led it.", ["I see.", "yes, i led it"])  # a whole short answer


# --------------------------------------------------------------- the assessment

QUESTIONS = [
    ("introduction", "Tell me about yourself."),
    ("technical", "Explain the difference between SQL and NoSQL databases."),
    ("behavioral", "Tell me about a time you resolved a conflict."),
]
ANSWERS = [
    "I am a backend developer, um, with five years of Python and PostgreSQL.",
    "SQL databases are relational with ACID transactions; document stores trade consistency for scalability.",
    "When I was at my previous company two teammates disagreed. My task was to unblock them. "
    "I set up a meeting and as a result we agreed on an API contract.",
]


def finished_runtime() -> InterviewRuntime:
    md = parse_metadata(json.dumps({"job_role": "Backend Developer", "experience_level": "mid"}),
                        require_user=False)  # fmt: skip
    rt = InterviewRuntime(md, room_name="room-feedback")
    t = 1_800_000_000.0
    for n, ((stage, q), a) in enumerate(zip(QUESTIONS, ANSWERS, strict=True)):
        rt.transcript.add(item_id=f"q{n}", role="agent", text=q, stage=stage, started_at=t)
        rt.transcript.add(item_id=f"a{n}", role="candidate", text=a, stage=stage, started_at=t + 5)
        t += 60
    rt.start()
    rt.client_end()
    return rt


def assessment_json(**over) -> str:
    body = {
        "overall_score": 6.5,
        "scores": {"technical": 7, "communication": 6, "confidence": 6.5, "structure": 6},
        "summary": "You explained databases well and told a clear conflict story.",
        "strengths": [
            {"point": "Precise on databases", "evidence": "SQL databases are relational with ACID transactions",
             "suggestion": "Keep it up"},
            {"point": "Made up", "evidence": "I led a team of fifty engineers at Google", "suggestion": "x"},
        ],
        "areas_for_improvement": [
            {"point": "Vague introduction", "evidence": "with five years of Python and PostgreSQL",
             "suggestion": "Name one achievement."}
        ],
        "stages": [{"id": "technical", "score": 7, "feedback": "Solid fundamentals."}],
        "answers": [
            {"index": 1, "score": 7.5, "what_went_well": "Clear on ACID.",
             "suggested_improvement": "Mention indexes.",
             "stronger_answer": "SQL databases are relational and give ACID transactions, "
             "while document stores trade some consistency for scalability.", "star": None},
            {"index": 2, "score": 7, "what_went_well": "A real story.",
             "suggested_improvement": "Quantify the result.",
             "stronger_answer": "At Google I calmed 12 engineers.",  # invented facts
             "star": {"situation": True, "task": True, "action": True, "result": False}},
        ],
        "short_term": ["Practise a 60-second introduction."],
        "long_term": ["Build a project with a document store."],
        "practice_suggestions": ["Record yourself."],
    }  # fmt: skip
    body.update(over)
    return json.dumps(body)


async def assess_with(replies, *, timeout_s=5.0):
    rt = finished_runtime()
    _, partial = build_records(rt, SessionFacts(mode="test", models={}))
    queue = list(replies)

    def decide(body):
        assert body.get("response_format", {}).get("type") == "json_schema"
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async with FakeOpenAI(decide) as server:
        settings = Settings(_env_file=None, openai_base_url=server.base_url)
        client = openai_client(settings, ProviderKeys(openai="sk-test-0123456789abcdef"))
        assessor = Assessor(client, model=settings.interview_llm_model, timeout_s=timeout_s)
        try:
            result = await assessor.assess(rt, partial)
        finally:
            await assessor.aclose()
    FeedbackData.model_validate(result.feedback_data)  # every outcome validates
    return result.feedback_data, server


async def test_valid_assessment_is_complete_and_grounded():
    data, server = await assess_with([{"content": assessment_json()}])
    assert len(server.requests) == 1
    assert data["status"] == "complete" and data["overall_score"] == 6.5
    assert data["scores"] == {
        "technical": 7.0,
        "communication": 6.0,
        "confidence": 6.5,
        "structure": 6.0,
    }
    assert [s["point"] for s in data["strengths"]] == [
        "Precise on databases"
    ]  # fabricated quote dropped
    assert (
        data["areas_for_improvement"][0]["evidence"] == "with five years of Python and PostgreSQL"
    )
    tech = next(a for a in data["answers"] if a["stage"] == "technical")
    assert tech["score"] == 7.5 and tech["suggested_improvement"] == "Mention indexes."
    assert tech["what_went_well"] == "Clear on ACID."
    assert tech["stronger_answer"].startswith("SQL databases are relational")
    story = next(a for a in data["answers"] if a["stage"] == "behavioral")
    assert story["stronger_answer"] is None  # "Google" and "12" are not in what was said
    assert story["star"] == {"situation": True, "task": True, "action": True, "result": False}
    assert tech["keywords_mentioned"] == [
        "relational",
        "document",
        "scalability",
        "acid",
        "consistency",
    ]
    assert data["generated_by"] == {"model": Settings(_env_file=None).interview_llm_model,
                                    "fallback": False, "error": None}  # fmt: skip
    # the request carried the answers and their computed facts
    user = json.loads(server.requests[0]["messages"][1]["content"])
    assert [a["answer"] for a in user["answers"]] == ANSWERS


async def test_invalid_json_is_retried_once_then_partial():
    data, server = await assess_with([{"content": "not json at all"}])
    assert len(server.requests) == 2
    assert data["status"] == "partial" and data["overall_score"] is None
    assert all(v is None for v in data["scores"].values())
    assert data["generated_by"]["error"] == "invalid assessment JSON"


async def test_invalid_then_valid_recovers():
    data, _ = await assess_with(
        [{"content": '{"overall_score": 99}'}, {"content": assessment_json()}]
    )
    assert data["status"] == "complete"


async def test_server_error_leaves_computed_metrics_and_null_scores():
    data, _ = await assess_with([{"status": 500}])
    assert data["status"] == "partial" and data["overall_score"] is None
    assert data["generated_by"]["error"] == "InternalServerError 500"
    assert data["answers"] and data["speech"]["total_words"] > 0  # computed parts kept


async def test_timeout_leaves_partial():
    data, _ = await assess_with([{"content": assessment_json(), "delay": 3}], timeout_s=0.5)
    assert data["status"] == "partial"
    assert data["generated_by"]["error"] == "APITimeoutError"


async def test_out_of_range_scores_are_rejected_not_saved():
    data, _ = await assess_with([{"content": assessment_json(overall_score=14)}])
    assert data["status"] == "partial" and data["overall_score"] is None


# --------------------------------------------------------------- words lost to an outage


def _technical_only(*, gap: bool) -> InterviewRuntime:
    md = parse_metadata('{"job_role": "Backend Developer"}', require_user=False)
    rt = InterviewRuntime(md, room_name="room-gap")
    q = "Explain the difference between SQL and NoSQL databases."
    rt.transcript.add(item_id="q", role="agent", text=q, stage="technical", started_at=1.0)
    answer = rt.transcript.add(
        item_id="a", role="candidate", text="Documents scale out.", stage="technical",
        started_at=5.0,
    )  # fmt: skip
    assert answer is not None
    answer.transcription_gap = gap
    rt.start()
    rt.client_end()
    return rt


@pytest.mark.parametrize("gap", [False, True])
def test_an_answer_cut_by_a_transcription_gap_is_never_held_against_the_candidate(gap):
    from feedback.assessment import request_messages
    from feedback.render import html, markdown

    rt = _technical_only(gap=gap)
    interview, fb = build_records(rt, SessionFacts(mode="test", models={}))
    data = fb.feedback_data
    FeedbackData.model_validate(data)
    [answer] = data["answers"]
    assert answer["transcription_gap"] is gap
    assert len(answer["missing_keywords"]) >= 2
    areas = [a["point"] for a in data["areas_for_improvement"]]
    assert bool(areas) is not gap  # short and missing points: an area, unless words were lost
    saved = [m for m in interview.conversation["messages"] if m["role"] == "candidate"]
    assert saved[0].get("transcription_gap", False) is gap
    facts = json.loads(
        request_messages(data, ["Documents scale out."], job_role="Backend Developer",
                         experience_level="mid", resume=None, job_description=None)[1]["content"]
    )  # fmt: skip
    assert facts["answers"][0]["partly_unheard"] is gap
    row = asdict(interview)
    assert ("lost to a speech-recognition fault" in markdown(row, data)) is gap
    assert ("lost to a speech-recognition fault" in html(row, data)) is gap
