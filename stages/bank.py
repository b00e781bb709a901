"""The bundled question bank: role- and level-aware questions with expected keywords.

``stages/data/question_bank.json`` holds questions for the six roles of the product's
sample data plus role-agnostic ones. :func:`plan_questions` picks, for one interview,
the questions of each stage: resume skills feed ``experience``, job-description terms
feed ``technical``, the level filters every role question. The choice is deterministic
for a given seed, so a rerun of the same interview asks the same questions.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .metadata import InterviewMetadata

EXTRA_VOCABULARY = (
    "Python", "Java", "JavaScript", "TypeScript", "Go", "Rust", "C#", "C++", "Ruby", "PHP",
    "Kotlin", "Swift", "SQL", "PostgreSQL", "MySQL", "MongoDB", "Redis", "Kafka", "GraphQL",
    "REST", "gRPC", "Docker", "Kubernetes", "AWS", "GCP", "Azure", "Terraform", "Linux",
    "React", "Angular", "Vue", "Next.js", "Node.js", "Django", "Flask", "FastAPI", "Spring",
    "Git", "CI/CD", "microservices", "machine learning", "deep learning", "TensorFlow",
    "PyTorch", "pandas", "Spark", "Airflow", "Tableau", "Power BI", "Excel", "statistics",
    "A/B testing", "SEO", "SEM", "Google Analytics", "HubSpot", "Salesforce", "Figma",
    "Jira", "Agile", "Scrum", "roadmap", "stakeholder management", "accessibility",
    "performance", "security", "testing", "observability", "data modeling", "ETL",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    keywords: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    difficulty: str = "medium"
    competency: str | None = None


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    title: str
    aliases: tuple[str, ...]
    required_skills: tuple[str, ...]
    technical: tuple[Question, ...]
    behavioral: tuple[Question, ...]


DIFFICULTY_LEVELS: dict[str, tuple[str, ...]] = {
    "easy": ("entry", "mid"),
    "medium": ("entry", "mid", "senior"),
    "hard": ("senior", "executive"),
}
"""Levels a question of the product database suits, from its ``difficulty_level``."""


@dataclass(slots=True)
class StageQuestions:
    """What one stage may ask, in order."""

    questions: list[Question] = field(default_factory=list)


def _question(d: dict[str, Any]) -> Question:
    return Question(
        id=str(d["id"]),
        text=str(d["text"]),
        keywords=tuple(str(k).lower() for k in d.get("keywords", ())),
        levels=tuple(d.get("levels", ())),
        difficulty=str(d.get("difficulty", "medium")),
        competency=d.get("competency"),
    )


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+#]+", " ", text.lower()).strip()


class QuestionBank:
    def __init__(self, data: dict[str, Any]) -> None:
        self.roles: tuple[Role, ...] = tuple(
            Role(
                id=r["id"],
                title=r["title"],
                aliases=tuple(a.lower() for a in r.get("aliases", ())),
                required_skills=tuple(r.get("required_skills", ())),
                technical=tuple(_question(q) for q in r.get("technical", ())),
                behavioral=tuple(_question(q) for q in r.get("behavioral", ())),
            )
            for r in data["roles"]
        )
        g = data["generic"]
        self.generic: dict[str, list[str]] = {
            k: list(v) for k, v in g.items() if v and isinstance(v[0], str)
        }
        self.generic_technical = tuple(_question(q) for q in g.get("technical", ()))
        self.generic_behavioral = tuple(_question(q) for q in g.get("behavioral", ()))
        vocab = {s for r in self.roles for s in r.required_skills} | set(EXTRA_VOCABULARY)
        self.vocabulary: tuple[str, ...] = tuple(sorted(vocab, key=lambda s: (-len(s), s)))

    @classmethod
    @cache
    def bundled(cls) -> QuestionBank:
        text = resources.files("stages").joinpath("data/question_bank.json").read_text("utf-8")
        return cls(json.loads(text))

    def find(self, asked: str) -> Question | None:
        """A bank question (with its keywords) whose exact text appears in ``asked``."""
        for role in self.roles:
            for q in (*role.technical, *role.behavioral):
                if q.text in asked:
                    return q
        for q in (*self.generic_technical, *self.generic_behavioral):
            if q.text in asked:
                return q
        return None

    # ------------------------------------------------------------ roles

    def role_for(self, job_role: str) -> Role | None:
        """The bank role for a free-text job title (title, alias, or best word overlap)."""
        wanted = _norm(job_role)
        if not wanted:
            return None
        for role in self.roles:
            if wanted == _norm(role.title) or wanted in (_norm(a) for a in role.aliases):
                return role
        words = set(wanted.split())
        best: tuple[float, Role | None] = (0.0, None)
        for role in self.roles:
            for name in (role.title, *role.aliases):
                cand = set(_norm(name).split())
                overlap = len(words & cand) / max(len(cand), 1)
                if overlap > best[0]:
                    best = (overlap, role)
        return best[1] if best[0] >= 0.5 else None

    def terms_in(self, text: str | None, limit: int = 8) -> list[str]:
        """Known skills/terms that appear in ``text``, in order of first appearance."""
        if not text:
            return []
        low = text.lower()
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []
        for term in self.vocabulary:
            pattern = r"(?<![a-z0-9])" + re.escape(term.lower()) + r"(?![a-z0-9+#])"
            m = re.search(pattern, low)
            if m and not any(a <= m.start() < b for a, b in taken):
                found.append((m.start(), term))
                taken.append((m.start(), m.end()))
        return [t for _, t in sorted(found)][:limit]

    # ------------------------------------------------------------ planning

    def plan_questions(
        self,
        md: InterviewMetadata,
        *,
        seed: str,
        extra_technical: Sequence[Question] = (),
        extra_behavioral: Sequence[Question] = (),
    ) -> dict[str, StageQuestions]:
        """Questions per stage. ``extra_*`` (from the product database) come first."""
        rng = random.Random(seed)
        role = self.role_for(md.job_role or "")
        level = md.experience_level
        plan: dict[str, StageQuestions] = {}

        def pick(pool: list[str], n: int, prefix: str) -> list[Question]:
            chosen = rng.sample(pool, min(n, len(pool)))
            return [Question(id=f"{prefix}-{i}", text=t) for i, t in enumerate(chosen)]

        def fill(text: str) -> str:
            if not md.name_given:
                text = re.sub(r",? ?\{candidate_name\}", "", text)
            return text.replace("{candidate_name}", md.candidate_name).replace(
                "{job_role}", md.role_label
            )

        for stage in md.plan:
            n = stage.max_questions
            qs: list[Question] = []
            if stage.id == "greeting":
                qs = [
                    Question(q.id, fill(q.text)) for q in pick(self.generic["greeting"], 1, "greet")
                ]
            elif stage.id == "introduction":
                qs = pick(self.generic["introduction"], n, "intro")
            elif stage.id == "experience":
                for i, skill in enumerate(self.terms_in(md.resume_text)[:n]):
                    tmpl = rng.choice(self.generic["experience_with_resume"])
                    qs.append(
                        Question(f"resume-{i}", tmpl.replace("{skill}", skill), (skill.lower(),))
                    )
                qs += pick(self.generic["experience"], n - len(qs), "exp")
            elif stage.id == "technical":
                terms = self.terms_in(md.job_description)
                if terms:
                    term = terms[0]
                    tmpl = rng.choice(self.generic["technical_with_jd"])
                    qs.append(Question("jd-0", tmpl.replace("{term}", term), (term.lower(),)))
                qs += [q for q in extra_technical if level in q.levels][: n - len(qs)]
                pool = [
                    q
                    for q in (role.technical if role else self.generic_technical)
                    if (not q.levels or level in q.levels) and q.text not in {x.text for x in qs}
                ]
                qs += rng.sample(pool, min(n - len(qs), len(pool)))
            elif stage.id == "behavioral":
                qs = [q for q in extra_behavioral if level in q.levels][:n]
                pool = [q for q in (role.behavioral if role else ()) if level in q.levels]
                pool += [q for q in self.generic_behavioral if not q.levels or level in q.levels]
                pool = [q for q in pool if q.text not in {x.text for x in qs}]
                qs += rng.sample(pool, min(n - len(qs), len(pool)))
            elif stage.id == "candidate_questions":
                qs = pick(self.generic["candidate_questions"], 1, "cq")
            elif stage.id == "closing":
                qs = [
                    Question(q.id, fill(q.text)) for q in pick(self.generic["closing"], 1, "close")
                ]
            plan[stage.id] = StageQuestions(questions=qs)
        return plan

    def phrase(self, kind: str, index: int) -> str:
        """A fixed phrase (follow-up, acknowledgement) chosen by index, cycling."""
        pool = self.generic[kind]
        return pool[index % len(pool)]
