"""The questions one interview plans: from the candidate's own field, never repeated.

1 000 seeded plans over many job titles, levels, resumes and job descriptions; the
checks use their own measures of "the same question" (not the planner's), so a planner
that merely agrees with itself cannot pass.
"""

from __future__ import annotations

import difflib
import json
import random
import re

import pytest

from stages.bank import QuestionBank
from stages.metadata import parse_metadata

BANK = QuestionBank.bundled()

SKILLS = [
    "Python", "React", "SQL", "Kafka", "Tableau", "Salesforce", "Excel", "Go", "Epic",
    "QuickBooks", "Zendesk", "TypeScript", "Power BI", "HubSpot", "Docker", "AWS",
]  # fmt: skip
TITLES = [
    *(r.title for r in BANK.roles),
    "Senior Backend Engineer", "Mechanical Engineer", "Civil Engineer", "DevOps Engineer",
    "Financial Analyst", "Registered Nurse", "Pharmacist", "Chef", "Electrician",
    "Marketing Manager", "Graphic Designer", "Lawyer", "HR Generalist", "Barista", "",
]  # fmt: skip
ABOUT_YOURSELF = re.compile(r"\babout yourself\b|\byour background\b|\bdescribe yourself\b", re.I)


def _metadata(rng: random.Random) -> str:
    skills = rng.sample(SKILLS, rng.randint(0, 5))
    jd_terms = rng.sample(SKILLS, rng.randint(0, 4))
    md = {
        "candidate_name": "Alex",
        "job_role": rng.choice(TITLES),
        "experience_level": rng.choice(["entry", "mid", "senior", "executive"]),
        "resume_text": ("Experienced professional. Skills: " + ", ".join(skills) + ".")
        if skills
        else None,
        "job_description": ("You will work with " + ", ".join(jd_terms) + ".")
        if jd_terms
        else None,
    }
    return json.dumps({k: v for k, v in md.items() if v is not None})


STOCK_OPENING = re.compile(
    r"^(tell me about|describe|give me an example of|can you describe|could you tell me about)"
    r"( a (time|situation|moment)( when| where)?)?( you)?\s*",
    re.I,
)


def _same_question(a: str, b: str) -> bool:
    """Nearly the same question: the same wording once stock openings ("Tell me about a
    time you ...") are set aside, or most of the same meaningful words."""
    a, b = STOCK_OPENING.sub("", a), STOCK_OPENING.sub("", b)
    ratio = difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()
    wa, wb = set(re.findall(r"[a-z]{4,}", a.lower())), set(re.findall(r"[a-z]{4,}", b.lower()))
    overlap = len(wa & wb) / max(1, min(len(wa), len(wb)))
    return ratio >= 0.8 or (overlap >= 0.75 and min(len(wa), len(wb)) >= 3)


def test_a_thousand_plans_repeat_nothing_and_start_with_the_candidate():
    rng = random.Random(20261202)
    problems: list[str] = []
    for n in range(1000):
        md = parse_metadata(_metadata(rng), require_user=False)
        planned = BANK.plan_questions(md, seed=f"seed-{n}")
        questions = [(sid, q) for sid, sq in planned.items() for q in sq.questions]
        texts = [q.text for _, q in questions]
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                if _same_question(a, b):
                    problems.append(f"{n}: repeated {a!r} ~ {b!r}")
        intro = planned["introduction"].questions
        if not intro or not ABOUT_YOURSELF.search(intro[0].text):
            problems.append(f"{n}: introduction does not open with the candidate: {intro}")
        if sum(bool(ABOUT_YOURSELF.search(t)) for t in texts) > 1:
            problems.append(f"{n}: two 'about yourself' questions")
        personal = [q for _, q in questions if q.id.startswith(("resume-", "jd-"))]
        subjects = [q.keywords[0] for q in personal]
        if len(subjects) != len(set(subjects)):
            problems.append(f"{n}: a skill asked about twice: {subjects}")
        templates = [re.sub(re.escape(q.keywords[0]), "{}", q.text, flags=re.I) for q in personal]
        if len(templates) != len(set(templates)):
            problems.append(f"{n}: a personal question template used twice: {templates}")
    assert not problems, problems[:10]


FIELD_OF = {r.id: r.field for r in BANK.roles}
OWN_FIELD = {
    # title → the bundled role it must get (None: role-neutral questions only)
    "Frontend Developer": "frontend_developer",
    "Senior React Developer": "frontend_developer",
    "Backend Engineer": "backend_developer",
    "Lead Software Engineer": "full_stack_developer",
    "Data Scientist": "data_scientist",
    "ML Engineer": "data_scientist",
    "Product Owner": "product_manager",
    "SEO Specialist": "digital_marketing_specialist",
    "Mechanical Engineer": None,
    "Civil Engineer": None,
    "DevOps Engineer": None,
    "Electrical Engineer": None,
    "Financial Analyst": None,
    "Investment Banker": None,
    "Pharmacist": None,
    "Physiotherapist": None,
    "Chef": None,
    "Electrician": None,
    "Architect": None,
    "Lawyer": None,
    "HR Generalist": None,
    "Recruiter": None,
    "Graphic Designer": None,
    "Operations Manager": None,
    "Project Manager": None,
    "Supply Chain Planner": None,
    "Barista": None,
    "Police Officer": None,
    "Journalist": None,
    "Underwater basket weaver": None,
}


@pytest.mark.parametrize("title", sorted(OWN_FIELD))
def test_a_job_title_gets_questions_from_its_own_field_or_neutral_ones(title: str):
    expected = OWN_FIELD[title]
    role = BANK.role_for(title)
    assert (role.id if role else None) == expected
    own = set()
    if role is not None:
        own = {q.text for q in (*role.technical, *role.behavioral)}
    others = {
        q.text: r.id
        for r in BANK.roles
        if r.id != expected
        for q in (*r.technical, *r.behavioral)
        if q.text not in own
    }
    for level in ("entry", "mid", "senior", "executive"):
        md = parse_metadata(
            json.dumps({"job_role": title, "experience_level": level}), require_user=False
        )
        for seed in range(20):
            planned = BANK.plan_questions(md, seed=f"{title}-{level}-{seed}")
            for sq in planned.values():
                for q in sq.questions:
                    assert q.text not in others, f"{title}: {q.text!r} is {others[q.text]}'s"


def test_ordinary_words_in_a_resume_are_not_skills():
    resume = (
        "Go above and beyond for every patient. Received a performance award in 2022. "
        "I excel at calming anxious families. Security-conscious, testing-minded."
    )
    assert BANK.terms_in(resume, skills_only=True) == []
    assert BANK.terms_in("Languages: Go, Rust and Python. Tools: Excel.", skills_only=True) == [
        "Go", "Rust", "Python", "Excel",
    ]  # fmt: skip
