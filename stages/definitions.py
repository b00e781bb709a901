"""The stages of an interview, as data.

A stage is a node of the interview plan, and carries everything that differs from one
stage to another: what it is for, which prompt template drives the interviewer and what
data the prompt gets, how many questions it may ask and how long it may take, where its
questions come from, and how its answers are treated (assessed, read as stories, checked
for expected points, followed up when very short). Nothing else branches on a stage's
id: adding a stage is one entry here, its prompt template and its bank questions. The
state machine in :mod:`stages.machine` walks a plan of these; nothing here knows about
LiveKit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

QuestionKind = Literal["technical", "behavioral"]


@dataclass(frozen=True, slots=True)
class QuestionSource:
    """Where a stage's planned questions come from, taken in this order until the stage
    has ``max_questions`` (or one, with ``count="one"``)."""

    personal: Literal["resume_skills", "job_description_terms"] | None = None
    """Questions about the candidate: one per skill found in the resume, or one about the
    first term found in the job description, from the bank's ``personal_templates``."""
    personal_templates: str | None = None
    """The bank's template pool for ``personal`` (``{skill}`` / ``{term}`` placeholders)."""
    stored: QuestionKind | None = None
    """Questions of this type from the product database (``interview_questions``)."""
    kind: QuestionKind | None = None
    """The matched role's bank questions of this kind, for the candidate's level."""
    generic_kind_too: bool = False
    """With ``kind``: the bank's role-neutral questions of the kind join the role's (else
    they stand in only when no role matches)."""
    pools: tuple[str, ...] = ()
    """One question from each of these role-neutral pools, in this order (an opening
    question first, then one of another kind)."""
    generic: str | None = None
    """A pool of role-neutral question texts in the bank."""
    texts: tuple[str, ...] = ()
    """Questions written into the stage itself."""
    count: Literal["one", "max"] = "max"
    fill_names: bool = False
    """Fill ``{candidate_name}`` and ``{job_role}`` in the texts."""


@dataclass(frozen=True, slots=True)
class StageDef:
    id: str
    title: str
    goal: str
    prompt: str
    """Name of the prompt template in ``prompts/templates`` (without ``.txt``);
    ``stage_default`` serves any stage from its id, title and goal."""
    min_questions: int
    max_questions: int
    time_budget_s: float
    skippable: bool
    questions: QuestionSource = field(default_factory=QuestionSource)
    context: frozenset[Literal["resume", "job_description"]] = frozenset()
    """The candidate's documents this stage's prompt is given in full (fenced as data)."""
    excerpts: frozenset[Literal["resume", "job_description"]] = frozenset()
    """... and those it gets the beginning of, as a reminder."""
    answers: bool = False
    """The candidate's turns here are answers: assessed in the feedback, and followed up
    by the offline interviewer when very short."""
    stories: bool = False
    """Answers are stories: their STAR parts are looked for."""
    expected_points: bool = False
    """Answers are checked for the points a strong answer covers (the report flags an
    answer that missed several)."""
    invites_questions: bool = False
    """The candidate asks the questions here ("no more questions" finishes the stage)."""
    probe_details: bool = False
    """The offline interviewer follows up on a skill or tool named in a full answer
    (once per stage), not only on a very short answer."""
    nudge: str = "Think about how you would approach it, step by step, even roughly."
    """What the offline interviewer says to help a candidate who is stuck on one of this
    stage's questions (a question's own hint comes first)."""
    answer_limit_s: float | None = None
    """How long one answer here may run before the interviewer moves on at the end of a
    sentence (a question's own limit comes first; ``None``: no limit, the stage's turns
    are not answers). Never more than the stage's time budget."""

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum():
            raise ValueError(f"stage id {self.id!r} must be a non-empty snake_case word")
        if not 0 <= self.min_questions <= self.max_questions or self.max_questions < 1:
            raise ValueError(f"stage {self.id}: need 0 <= min_questions <= max_questions, max >= 1")
        if self.time_budget_s <= 0:
            raise ValueError(f"stage {self.id}: time_budget_s must be positive")
        if self.answer_limit_s is not None and self.answer_limit_s <= 0:
            raise ValueError(f"stage {self.id}: answer_limit_s must be positive")


GREETING = StageDef(
    id="greeting",
    title="Greeting",
    goal="Welcome the candidate, explain the format in one sentence, check they are ready.",
    prompt="stage_greeting",
    min_questions=1,
    max_questions=1,
    time_budget_s=60,
    skippable=False,
    questions=QuestionSource(generic="greeting", count="one", fill_names=True),
    nudge="Just let me know when you're ready to start.",
)
INTRODUCTION = StageDef(
    id="introduction",
    title="Introduction",
    goal="Let the candidate introduce themselves and their motivation for the role.",
    prompt="stage_introduction",
    min_questions=1,
    max_questions=2,
    time_budget_s=180,
    skippable=True,
    questions=QuestionSource(pools=("introduction_opening", "introduction_motivation")),
    excerpts=frozenset({"resume", "job_description"}),
    answers=True,
    answer_limit_s=120,
    nudge="Start with what you do now, then one or two things that brought you here.",
)
EXPERIENCE = StageDef(
    id="experience",
    title="Experience",
    goal="Explore past work, grounded in the resume when there is one.",
    prompt="stage_experience",
    min_questions=1,
    max_questions=3,
    time_budget_s=360,
    skippable=True,
    questions=QuestionSource(
        personal="resume_skills", personal_templates="experience_with_resume", generic="experience"
    ),
    context=frozenset({"resume"}),
    excerpts=frozenset({"job_description"}),
    answers=True,
    answer_limit_s=150,
    probe_details=True,
    nudge="Pick one role or project and tell me what you were responsible for.",
)
TECHNICAL = StageDef(
    id="technical",
    title="Technical",
    goal="Assess role-specific knowledge at the candidate's level, using the job description.",
    prompt="stage_technical",
    min_questions=2,
    max_questions=4,
    time_budget_s=540,
    skippable=True,
    questions=QuestionSource(
        personal="job_description_terms",
        personal_templates="technical_with_jd",
        stored="technical",
        kind="technical",
    ),
    context=frozenset({"job_description"}),
    excerpts=frozenset({"resume"}),
    answers=True,
    answer_limit_s=150,
    expected_points=True,
    probe_details=True,
)
BEHAVIORAL = StageDef(
    id="behavioral",
    title="Behavioral",
    goal="Ask STAR-style questions about real situations: situation, task, action, result.",
    prompt="stage_behavioral",
    min_questions=1,
    max_questions=3,
    time_budget_s=420,
    skippable=True,
    questions=QuestionSource(stored="behavioral", kind="behavioral", generic_kind_too=True),
    excerpts=frozenset({"resume"}),
    answers=True,
    answer_limit_s=180,
    stories=True,
    nudge="Think of one real situation, even a small one: what happened and what you did.",
)
CANDIDATE_QUESTIONS = StageDef(
    id="candidate_questions",
    title="Your questions",
    goal="Invite the candidate's questions about the role and answer them briefly.",
    prompt="stage_candidate_questions",
    min_questions=1,
    max_questions=2,
    time_budget_s=180,
    skippable=True,
    questions=QuestionSource(generic="candidate_questions", count="one"),
    excerpts=frozenset({"job_description"}),
    invites_questions=True,
)
CLOSING = StageDef(
    id="closing",
    title="Closing",
    goal="Thank the candidate, say what happens next (their feedback report), say goodbye.",
    prompt="stage_closing",
    min_questions=1,
    max_questions=1,
    time_budget_s=60,
    skippable=False,
    questions=QuestionSource(generic="closing", count="one", fill_names=True),
)

DEFAULT_PLAN: tuple[StageDef, ...] = (
    GREETING,
    INTRODUCTION,
    EXPERIENCE,
    TECHNICAL,
    BEHAVIORAL,
    CANDIDATE_QUESTIONS,
    CLOSING,
)
STAGES_BY_ID: dict[str, StageDef] = {s.id: s for s in DEFAULT_PLAN}


class PlanError(ValueError):
    """A stage plan override names unknown stages or is otherwise unusable."""


def build_plan(
    stage_ids: list[str] | None, catalog: tuple[StageDef, ...] = DEFAULT_PLAN
) -> tuple[StageDef, ...]:
    """The plan for an interview: the whole ``catalog`` (by default the default plan), or
    an override by stage id.

    An override keeps the catalog's order of the stages it names (so a plan cannot run
    closing before greeting), always keeps the catalog's first and last stage, and ignores
    duplicates. Unknown ids raise :class:`PlanError`.
    """
    if not stage_ids:
        return catalog
    known = {s.id for s in catalog}
    unknown = [s for s in stage_ids if s not in known]
    if unknown:
        raise PlanError(f"unknown stage ids: {', '.join(sorted(set(unknown)))}")
    wanted = set(stage_ids) | {catalog[0].id, catalog[-1].id}
    return tuple(s for s in catalog if s.id in wanted)
