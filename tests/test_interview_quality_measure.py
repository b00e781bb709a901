"""bench/interview_quality.py's counts find what they claim to find (a crafted row with
one of each problem), so a clean run against a model means something."""

from __future__ import annotations

from bench.interview_quality import measure
from stages.bank import QuestionBank
from stages.metadata import parse_metadata

BANK = QuestionBank.bundled()


def test_each_planted_problem_is_counted_once():
    frontend = next(r for r in BANK.roles if r.id == "frontend_developer")
    foreign_q = frontend.technical[0].text
    md = parse_metadata('{"job_role": "Registered Nurse", "experience_level": "mid"}',
                        require_user=False)  # fmt: skip
    planned = BANK.plan_questions(md, seed="crafted")["technical"].questions
    q = next(q for q in planned if len([k for k in q.keywords if k not in q.text]) >= 2)
    unnamed = [k for k in q.keywords if k.lower() not in q.text.lower()][:2]
    script = ["Yes.", "~Can you give me a hint?", "An answer."]

    def agent(text: str, stage: str = "technical", question: bool = True) -> dict:
        return {"role": "agent", "text": text, "stage": stage, "question": question}

    row = {
        "id": "crafted",
        "ended_by": "completed",
        "conversation": {
            "messages": [
                agent("Are you ready?", "greeting"),
                {"role": "candidate", "text": "Yes.", "stage": "greeting"},
                agent(foreign_q),  # another field's question
                {"role": "candidate", "text": "Can you give me a hint?", "stage": "technical"},
                agent(f"Think about {unnamed[0]} and {unnamed[1]}.", question=False),  # points
                {"role": "candidate", "text": "An answer.", "stage": "technical"},
                agent(foreign_q),  # ... asked again
                agent(" ".join(["word"] * 41), question=False),  # too long
            ]
        },
    }
    found = measure(row, "Registered Nurse", "mid", script, BANK)
    assert found.counts() == {
        "questions_from_another_field": 2,
        "non_answers_counted_as_answers": 1,
        "answer_points_spoken": 1,
        "repeated_questions": 1,
        "turns_over_40_words": 1,
    }


def test_asking_the_planned_questions_verbatim_speaks_no_points():
    """One planned question may name another's points (a teacher's "assessment data"
    question and the failed-unit-test one): asking it is not a hint. Every bundled role,
    many plans."""
    for role in BANK.roles:
        md = parse_metadata(f'{{"job_role": "{role.title}", "experience_level": "mid"}}',
                            require_user=False)  # fmt: skip
        for n in range(12):
            seed = f"plan-{n}"
            plan = BANK.plan_questions(md, seed=seed)
            messages = [
                {"role": "agent", "text": f"Understood. {q.text}", "stage": stage}
                for stage, planned in plan.items()
                for q in planned.questions
            ]
            row = {"id": seed, "conversation": {"messages": messages}}
            found = measure(row, role.title, "mid", [], BANK)
            assert found.points_spoken == [], (role.title, seed)
