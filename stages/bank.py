"""The bundled question bank: role- and level-aware questions with expected keywords.

``stages/data/question_bank.json`` holds questions for the six roles of the product's
sample data plus role-agnostic ones. :func:`plan_questions` picks, for one interview,
the questions of each stage: resume skills feed ``experience``, job-description terms
feed ``technical``, the level filters every role question. The choice is deterministic
for a given seed, so a rerun of the same interview asks the same questions.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .definitions import QuestionSource, StageDef
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


def _fill(text: str, md: InterviewMetadata) -> str:
    """``{candidate_name}`` and ``{job_role}`` filled (the name and its comma dropped when
    no name was given)."""
    if not md.name_given:
        text = re.sub(r",? ?\{candidate_name\}", "", text)
    return text.replace("{candidate_name}", md.candidate_name).replace("{job_role}", md.role_label)


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
        """Questions per stage, from each stage's :class:`QuestionSource`. ``extra_*``
        (from the product database) come before the bank's."""
        rng = random.Random(seed)
        stored = {"technical": extra_technical, "behavioral": extra_behavioral}
        return {
            stage.id: StageQuestions(questions=self._for_stage(stage, md, rng, stored))
            for stage in md.plan
        }

    def _for_stage(
        self,
        stage: StageDef,
        md: InterviewMetadata,
        rng: random.Random,
        stored: dict[str, Sequence[Question]],
    ) -> list[Question]:
        src = stage.questions
        n = 1 if src.count == "one" else stage.max_questions
        level = md.experience_level
        qs: list[Question] = self._personal(src, md, rng, n)
        if src.stored:
            qs += [q for q in stored.get(src.stored, ()) if level in q.levels][: n - len(qs)]
        if src.kind:
            taken = {q.text for q in qs}
            pool = [
                q
                for q in self._kind_pool(src, md.job_role or "")
                if (not q.levels or level in q.levels) and q.text not in taken
            ]
            qs += rng.sample(pool, min(n - len(qs), len(pool)))
        if src.generic:
            pool_texts = self.generic[src.generic]
            chosen = rng.sample(pool_texts, min(n - len(qs), len(pool_texts)))
            qs += [Question(f"{stage.id}-{i}", t) for i, t in enumerate(chosen)]
        qs += [Question(f"{stage.id}-t{i}", t) for i, t in enumerate(src.texts[: n - len(qs)])]
        if src.fill_names:
            qs = [dataclasses.replace(q, text=_fill(q.text, md)) for q in qs]
        return qs

    def _personal(
        self, src: QuestionSource, md: InterviewMetadata, rng: random.Random, n: int
    ) -> list[Question]:
        if not src.personal or not src.personal_templates:
            return []
        templates = self.generic[src.personal_templates]
        if src.personal == "resume_skills":
            out = []
            for i, skill in enumerate(self.terms_in(md.resume_text)[:n]):
                text = rng.choice(templates).replace("{skill}", skill)
                out.append(Question(f"resume-{i}", text, (skill.lower(),)))
            return out
        terms = self.terms_in(md.job_description)
        if not terms:
            return []
        text = rng.choice(templates).replace("{term}", terms[0])
        return [Question("jd-0", text, (terms[0].lower(),))]

    def _kind_pool(self, src: QuestionSource, job_role: str) -> list[Question]:
        """The role's questions of the stage's kind; the role-neutral ones join them
        (``generic_kind_too``) or stand in when no role matches."""
        generic = self.generic_technical if src.kind == "technical" else self.generic_behavioral
        role = self.role_for(job_role)
        if role is None:
            return list(generic)
        own = role.technical if src.kind == "technical" else role.behavioral
        return [*own, *generic] if src.generic_kind_too else list(own)

    def phrase(self, kind: str, index: int) -> str:
        """A fixed phrase (follow-up, acknowledgement) chosen by index, cycling."""
        pool = self.generic[kind]
        return pool[index % len(pool)]
