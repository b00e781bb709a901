"""The ``feedback_data`` contract as a model: every saved document must validate.

Two models live here: :class:`FeedbackData` (what is saved, docs/CONTRACTS.md) and
:class:`Assessment` (what the language model must return; its JSON schema is sent with
the request and its answer is validated before anything from it is used).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scores(_Strict):
    technical: float | None = Field(default=None, ge=0, le=10)
    communication: float | None = Field(default=None, ge=0, le=10)
    confidence: float | None = Field(default=None, ge=0, le=10)
    structure: float | None = Field(default=None, ge=0, le=10)


class Point(_Strict):
    point: str
    evidence: str
    suggestion: str | None = None


class StageFeedback(_Strict):
    id: str
    status: str | None = None
    score: float | None = Field(default=None, ge=0, le=10)
    feedback: str | None = None


class Star(_Strict):
    situation: bool
    task: bool
    action: bool
    result: bool


class AnswerFeedback(_Strict):
    stage: str
    question: str | None
    question_id: str | None = None
    answer_excerpt: str
    score: float | None = Field(default=None, ge=0, le=10)
    star: Star | None = None
    keywords_mentioned: list[str]
    missing_keywords: list[str]
    suggested_improvement: str | None = None
    words: int = Field(ge=0)
    duration_s: float | None = None
    words_per_minute: float | None = None
    pause_before_s: float | None = None
    filler_words: dict[str, int]
    hedges: dict[str, int] = Field(default_factory=dict)
    what_went_well: str | None = None
    stronger_answer: str | None = None
    """With a model: the answer said better, built only from what the candidate said."""
    transcription_gap: bool = False
    """Some of this answer's words were lost to a speech-to-text outage."""
    time_boxed: bool = False
    """This answer ran past its time limit; the interviewer moved on at the end of a
    sentence (every word of it is kept)."""
    time_limit_s: float | None = None
    """That limit, in seconds (with ``time_boxed``)."""
    audio_path: str | None = None
    """The answer's recording (with the candidate's consent): a path in the
    ``interview-audio`` bucket, or under the local recordings folder."""


class Speech(_Strict):
    words_per_minute: float | None
    filler_words: dict[str, int]
    fillers_per_100_words: float | None
    avg_answer_seconds: float | None
    longest_pause_s: float | None
    total_words: int = Field(ge=0)


class TermCoverage(_Strict):
    mentioned: list[str]
    missing: list[str]


class ImprovementPlan(_Strict):
    short_term: list[str]
    long_term: list[str]
    practice_suggestions: list[str]


class GeneratedBy(_Strict):
    model: str | None
    fallback: bool
    error: str | None = None


class ProgressFigures(_Strict):
    """One interview's figures (``null``: the interview does not have it)."""

    fillers_per_100_words: float | None
    words_per_minute: float | None
    words_per_answer: float | None
    point_coverage: float | None
    """Expected points covered, in percent of those the answered questions had."""
    complete_stories: float | None
    overall_score: float | None


class Comparison(_Strict):
    label: str
    now: float | None
    before: float | None
    """The mean over the interviews compared with."""
    change: float | None
    better: bool | None
    """``null`` when the figure has a good range rather than a direction (pace, length),
    or did not change, or cannot be compared."""


class ComparedWith(_Strict):
    interviews: int = Field(ge=0)
    same_role: bool
    """Compared with earlier interviews for the same role (else with all earlier ones)."""
    job_role: str | None


class HistoryPoint(ProgressFigures):
    interview_id: str
    date: str
    job_role: str | None
    this: bool = False


class Progress(_Strict):
    first: bool
    """The user's first finished interview: nothing to compare with yet."""
    compared_with: ComparedWith
    now: ProgressFigures
    figures: dict[str, Comparison]
    history: list[HistoryPoint]
    """Oldest first, this interview last (at most 10)."""


class FeedbackData(_Strict):
    schema_version: Literal[1]
    status: Literal["complete", "partial", "failed"]
    """``failed``: computing feedback raised; the interview itself is saved."""
    overall_score: float | None = Field(ge=0, le=10)
    scores: Scores
    summary: str
    strengths: list[Point]
    areas_for_improvement: list[Point]
    stages: list[StageFeedback]
    answers: list[AnswerFeedback]
    speech: Speech
    job_description_terms: TermCoverage
    improvement_plan: ImprovementPlan
    generated_by: GeneratedBy
    progress: Progress | None = None
    """This interview next to the user's earlier ones (added once the transcript is saved;
    absent if the earlier ones could not be read)."""


# ---------------------------------------------------------------- the model's answer


class AssessedAnswer(_Strict):
    index: int = Field(description="index of the answer in the list given")
    score: float = Field(ge=0, le=10)
    what_went_well: str = Field(description="one specific thing this answer did well")
    suggested_improvement: str = Field(description="one concrete way to make it stronger")
    stronger_answer: str = Field(
        description="the same answer said better, in the candidate's voice, at most 80 "
        "words, using only facts the candidate gave (no invented names or numbers)"
    )
    star: Star | None = Field(
        default=None,
        description="for a story (behavioral answer): which parts it has; null otherwise",
    )


class AssessedStage(_Strict):
    id: str
    score: float = Field(ge=0, le=10)
    feedback: str


class AssessedPoint(_Strict):
    point: str
    evidence: str = Field(description="a verbatim quote of the candidate's own words")
    suggestion: str


class AssessedScores(_Strict):
    technical: float = Field(ge=0, le=10)
    communication: float = Field(ge=0, le=10)
    confidence: float = Field(ge=0, le=10)
    structure: float = Field(ge=0, le=10)


class Assessment(_Strict):
    overall_score: float = Field(ge=0, le=10)
    scores: AssessedScores
    summary: str
    strengths: list[AssessedPoint]
    areas_for_improvement: list[AssessedPoint]
    stages: list[AssessedStage]
    answers: list[AssessedAnswer]
    short_term: list[str]
    long_term: list[str]
    practice_suggestions: list[str]
