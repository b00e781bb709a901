"""The stages of an interview, as data.

A stage is a node of the interview plan: what it is for, which prompt template drives
the interviewer, how many questions it may ask and how long it may take. The state
machine in :mod:`stages.machine` walks a plan of these; nothing here knows about LiveKit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StageDef:
    id: str
    title: str
    goal: str
    prompt: str
    """Name of the prompt template in ``prompts/templates`` (without ``.txt``)."""
    min_questions: int
    max_questions: int
    time_budget_s: float
    skippable: bool

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum():
            raise ValueError(f"stage id {self.id!r} must be a non-empty snake_case word")
        if not 0 <= self.min_questions <= self.max_questions or self.max_questions < 1:
            raise ValueError(f"stage {self.id}: need 0 <= min_questions <= max_questions, max >= 1")
        if self.time_budget_s <= 0:
            raise ValueError(f"stage {self.id}: time_budget_s must be positive")


GREETING = StageDef(
    id="greeting",
    title="Greeting",
    goal="Welcome the candidate, explain the format in one sentence, check they are ready.",
    prompt="stage_greeting",
    min_questions=1,
    max_questions=1,
    time_budget_s=60,
    skippable=False,
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


def build_plan(stage_ids: list[str] | None) -> tuple[StageDef, ...]:
    """The plan for an interview: the default one, or an override by stage id.

    An override keeps the default order of the stages it names (so a plan cannot run
    closing before greeting), always starts with ``greeting`` and ends with ``closing``,
    and ignores duplicates. Unknown ids raise :class:`PlanError`.
    """
    if not stage_ids:
        return DEFAULT_PLAN
    unknown = [s for s in stage_ids if s not in STAGES_BY_ID]
    if unknown:
        raise PlanError(f"unknown stage ids: {', '.join(sorted(set(unknown)))}")
    wanted = set(stage_ids) | {GREETING.id, CLOSING.id}
    return tuple(s for s in DEFAULT_PLAN if s.id in wanted)
