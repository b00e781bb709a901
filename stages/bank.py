"""The bundled question bank: role- and level-aware questions with expected keywords.

``stages/data/roles/*.json`` holds one bundled role each (its titles, field, skills and
level-tagged questions), ``stages/data/generic.json`` the role-neutral questions and
phrases. :func:`plan_questions` picks, for one interview,
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
from .text import seconds

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


SENIORITY_WORDS = frozenset(
    "senior sr junior jr lead principal staff chief head associate assistant trainee intern "
    "graduate entry level mid i ii iii iv".split()
)
"""Words of a job title that say how senior, not which job (ignored when matching)."""


ORDINARY_WORDS = frozenset(
    "go rust swift spring ruby excel rest flask react vue angular git agile scrum epic "
    "express spark airflow looker pandas jira figma kafka redis docker".split()
)
"""Skills that are also ordinary words: matched only as written (capitalised), and
never as a sentence's first word."""
TOPICS = frozenset(
    {
        "performance", "security", "testing", "observability", "accessibility", "statistics",
        "roadmap", "data modeling", "microservices", "stakeholder management",
    }
)  # fmt: skip
"""General topics in the vocabulary: a job description's terms, not a resume's skills."""


def _find_term(term: str, text: str, low: str) -> tuple[int, int] | None:
    """Where ``term`` first stands in ``text`` as a whole word (see ``terms_in``)."""
    ordinary = term.lower() in ORDINARY_WORDS
    pattern = r"(?<![A-Za-z0-9])" + re.escape(term if ordinary else term.lower())
    pattern += r"(?![A-Za-z0-9+#])"
    for m in re.finditer(pattern, text if ordinary else low):
        if ordinary and re.search(r"(^|[.!?]\s*|\n\s*)$", text[: m.start()]):
            continue  # a sentence's first word: "Go above and beyond."
        return m.start(), m.end()
    return None


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    keywords: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    difficulty: str = "medium"
    competency: str | None = None
    style: str = "question"
    """``question``, ``scenario`` (a situation to reason through) or ``role_play`` (the
    interviewer plays a customer, patient, parent, ...)."""
    hint: str | None = None
    """One nudge towards a good answer that never gives the answer away."""
    time_limit_s: float | None = None
    """How long an answer to it may run (else its stage's ``answer_limit_s``)."""


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    title: str
    field: str
    """The field the role belongs to (``software``, ``healthcare``, ``sales``, ...)."""
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
        style=str(d.get("style", "question")),
        hint=d.get("hint"),
        time_limit_s=seconds(d.get("time_limit_s")),
    )


def _fill(text: str, md: InterviewMetadata) -> str:
    """``{candidate_name}`` and ``{job_role}`` filled (the name and its comma dropped when
    no name was given)."""
    if not md.name_given:
        text = re.sub(r",? ?\{candidate_name\}", "", text)
    return text.replace("{candidate_name}", md.candidate_name).replace("{job_role}", md.role_label)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+#]+", " ", text.lower()).strip()


NEAR_DUPLICATE = 0.6
"""Two questions sharing this share of their content words ask the same thing."""
_FUNCTION_WORDS = frozenset(
    "a an the and or but of to in on at for with about from by as is are was were be been "
    "do does did you your yours i me my we our it its this that these those what which who "
    "how why when where could would can will should tell please some any".split()
)


def content_words(text: str) -> set[str]:
    """The words of a question that carry its meaning (function words left out)."""
    return {w for w in _norm(text).split() if w not in _FUNCTION_WORDS and len(w) > 2}


def near_duplicates(a: str, b: str) -> bool:
    """Whether two questions ask nearly the same thing (a shared share of content words
    of at least :data:`NEAR_DUPLICATE`, measured against the shorter question)."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return _norm(a) == _norm(b)
    return len(wa & wb) / min(len(wa), len(wb)) >= NEAR_DUPLICATE


@dataclass(slots=True)
class _Planned:
    """What one interview's plan has taken so far (to keep it free of repeats)."""

    texts: list[str] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)

    def fresh(self, text: str) -> bool:
        return not any(near_duplicates(text, t) for t in self.texts)

    def take(self, q: Question, into: list[Question]) -> None:
        self.texts.append(q.text)
        into.append(q)


class QuestionBank:
    def __init__(self, data: dict[str, Any]) -> None:
        self.roles: tuple[Role, ...] = tuple(
            Role(
                id=r["id"],
                title=r["title"],
                field=r.get("field", r["id"]),
                aliases=tuple(a.lower() for a in r.get("aliases", ())),
                required_skills=tuple(r.get("required_skills", ())),
                technical=tuple(_question(q) for q in r.get("technical", ())),
                behavioral=tuple(_question(q) for q in r.get("behavioral", ())),
            )
            for r in data["roles"]
        )
        g = data["generic"]
        self.generic: dict[str, list[str]] = {
            k: list(v) for k, v in g.items() if isinstance(v, list) and v and isinstance(v[0], str)
        }
        self.generic_technical = tuple(_question(q) for q in g.get("technical", ()))
        self.generic_behavioral = tuple(_question(q) for q in g.get("behavioral", ()))
        vocab = {s for r in self.roles for s in r.required_skills} | set(EXTRA_VOCABULARY)
        self.vocabulary: tuple[str, ...] = tuple(sorted(vocab, key=lambda s: (-len(s), s)))

    @classmethod
    @cache
    def bundled(cls) -> QuestionBank:
        """The bank shipped in ``stages/data``: ``generic.json`` and one file per role in
        ``roles/`` (adding a role is adding a file)."""
        data = resources.files("stages").joinpath("data")
        roles = sorted(
            (f for f in data.joinpath("roles").iterdir() if f.name.endswith(".json")),
            key=lambda f: f.name,
        )
        return cls(
            {
                "roles": [json.loads(f.read_text("utf-8")) for f in roles],
                "generic": json.loads(data.joinpath("generic.json").read_text("utf-8")),
            }
        )

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
        """The bundled role a free-text job title names, or ``None``.

        A role matches when its title or one of its aliases appears in the job title as
        whole words ("Senior React Developer at Acme" → frontend), the longest such name
        winning; seniority words are ignored. Nothing else counts: sharing a word
        ("engineer", "manager", "analyst") is not being the same job, and a title with
        no bundled role gets role-neutral questions rather than another field's."""
        wanted = _norm(job_role)
        if not wanted:
            return None
        plain = " ".join(w for w in wanted.split() if w not in SENIORITY_WORDS)
        best: tuple[int, Role | None] = (0, None)
        for role in self.roles:
            for name in (role.title, *role.aliases):
                n = _norm(name)
                if n and any(f" {n} " in f" {t} " for t in (wanted, plain)):
                    if len(n.split()) > best[0]:
                        best = (len(n.split()), role)
        return best[1]

    def terms_in(self, text: str | None, limit: int = 8, *, skills_only: bool = False) -> list[str]:
        """Known skills and terms that appear in ``text``, in order of first appearance.

        A term that is also an ordinary word ("Go", "Excel", "Spring", "Epic") counts only
        written as the skill is (capitalised) and not as a sentence's first word: "go
        above and beyond" and "I excel at" name no skill. ``skills_only``: leave out the
        general topics ("performance", "security", ...) that a resume mentions without
        meaning a skill ("performance award")."""
        if not text:
            return []
        low = text.lower()
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []
        for term in self.vocabulary:
            if skills_only and term.lower() in TOPICS:
                continue
            m = _find_term(term, text, low)
            if m is not None and not any(a <= m[0] < b for a, b in taken):
                found.append((m[0], term))
                taken.append(m)
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
        (from the product database) come before the bank's. Within one interview no
        question is asked twice or nearly so, no personal template is used twice, and
        no skill or term is asked about in two stages."""
        rng = random.Random(seed)
        stored = {"technical": extra_technical, "behavioral": extra_behavioral}
        plan = _Planned()
        return {
            stage.id: StageQuestions(questions=self._for_stage(stage, md, rng, stored, plan))
            for stage in md.plan
        }

    def _for_stage(
        self,
        stage: StageDef,
        md: InterviewMetadata,
        rng: random.Random,
        stored: dict[str, Sequence[Question]],
        plan: _Planned,
    ) -> list[Question]:
        src = stage.questions
        n = 1 if src.count == "one" else stage.max_questions
        level = md.experience_level
        qs: list[Question] = []
        for q in self._personal(src, md, rng, n, plan):
            plan.take(q, qs)
        if src.stored:
            for q in stored.get(src.stored, ()):
                if len(qs) < n and level in q.levels and plan.fresh(q.text):
                    plan.take(q, qs)
        for i, pool_name in enumerate(src.pools):
            pool = [t for t in self.generic[pool_name] if plan.fresh(t)]
            if len(qs) < n and pool:
                plan.take(Question(f"{stage.id}-p{i}", rng.choice(pool)), qs)
        if src.kind:
            pool = [
                q
                for q in self._kind_pool(src, md.job_role or "")
                if (not q.levels or level in q.levels)
            ]
            for q in rng.sample(pool, len(pool)):
                if len(qs) < n and plan.fresh(q.text):
                    plan.take(q, qs)
        if src.generic:
            texts = self.generic[src.generic]
            for i, t in enumerate(rng.sample(texts, len(texts))):
                if len(qs) < n and plan.fresh(t):
                    plan.take(Question(f"{stage.id}-{i}", t), qs)
        for i, t in enumerate(src.texts):
            if len(qs) < n:
                plan.take(Question(f"{stage.id}-t{i}", t), qs)
        if src.fill_names:
            qs = [dataclasses.replace(q, text=_fill(q.text, md)) for q in qs]
        return qs

    def _personal(
        self, src: QuestionSource, md: InterviewMetadata, rng: random.Random, n: int,
        plan: _Planned,
    ) -> list[Question]:  # fmt: skip
        """Questions about the candidate's own skills or the job description's terms:
        each skill once per interview, each template once."""
        if not src.personal or not src.personal_templates:
            return []
        templates = rng.sample(
            self.generic[src.personal_templates], len(self.generic[src.personal_templates])
        )
        if src.personal == "resume_skills":
            terms = self.terms_in(md.resume_text, skills_only=True)
            prefix, limit = "resume", n
        else:
            terms = self.terms_in(md.job_description)
            prefix, limit = "jd", 1
        out = []
        for term in terms:
            if len(out) >= min(limit, len(templates)):
                break
            if term.lower() in plan.topics:
                continue
            plan.topics.add(term.lower())
            text = templates[len(out)].replace("{skill}", term).replace("{term}", term)
            out.append(Question(f"{prefix}-{len(out)}", text, (term.lower(),)))
        return out

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
        """A fixed phrase (an acknowledgement) chosen by index, cycling."""
        pool = self.generic[kind]
        return pool[index % len(pool)]
