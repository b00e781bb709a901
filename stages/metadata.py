"""Dispatch metadata: parse, validate, cut to size, and say clearly what was wrong.

The web app sets this JSON server-side (docs/CONTRACTS.md, "Dispatch metadata"). A field of the
wrong type or an unknown level does not stop the interview: it is dropped or defaulted
and recorded in ``warnings``. Only what makes an interview impossible raises
:class:`MetadataError`: text that is not a JSON object, or no ``user_id`` when one is
required (dispatch mode, where the user's own keys are loaded by that id).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .definitions import PlanError, StageDef, build_plan
from .text import clean_text

Level = Literal["entry", "mid", "senior", "executive"]
LEVELS: tuple[Level, ...] = ("entry", "mid", "senior", "executive")
LEVEL_ALIASES: dict[str, Level] = {
    "junior": "entry",
    "intern": "entry",
    "graduate": "entry",
    "entry-level": "entry",
    "entry level": "entry",
    "intermediate": "mid",
    "mid-level": "mid",
    "mid level": "mid",
    "middle": "mid",
    "lead": "senior",
    "staff": "senior",
    "principal": "senior",
    "director": "executive",
    "vp": "executive",
    "c-level": "executive",
}

CONTEXT_FIELDS = (
    "candidate_name",
    "job_role",
    "experience_level",
    "resume_text",
    "job_description",
    "language",
)
"""What the candidate participant's attributes may add (never ``user_id``, ``stages`` or
``max_duration_s``: whose keys, who owns the rows and how long it may run come only from
what the server set, nor ``record_audio``: consent is recorded by the web app)."""
MAX_METADATA_BYTES = 8_000_000
"""Raw metadata larger than this is refused outright (LiveKit's own limit is lower)."""
LIMITS: dict[str, int] = {
    "candidate_name": 100,
    "job_role": 120,
    "resume_text": 20_000,
    "job_description": 12_000,
}
"""Longest accepted text per field, in characters; longer text is cut and the cut recorded."""
DEFAULT_MAX_DURATION_S = 1800
MIN_DURATION_S = 120
MAX_DURATION_S = 7200


class MetadataError(ValueError):
    """The metadata cannot start an interview. ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Truncation:
    field: str
    original_chars: int
    kept_chars: int


@dataclass(slots=True)
class InterviewMetadata:
    user_id: str | None = None
    candidate_name: str = "the candidate"
    job_role: str | None = None
    experience_level: Level = "mid"
    resume_text: str | None = None
    job_description: str | None = None
    plan: tuple[StageDef, ...] = ()
    max_duration_s: int = DEFAULT_MAX_DURATION_S
    language: str = "en"
    providers: dict[str, str | list[str]] = field(default_factory=dict)
    """The candidate's providers per kind (``stt``/``llm``/``tts`` → a name such as
    ``openai``, preferred first; or a list of names, exactly those in that order),
    followed where they have the key (``providers/choice.py``)."""
    record_audio: bool = False
    """The candidate agreed to have their answers recorded (only an explicit ``true``)."""
    max_cost_usd: float | None = None
    """The most this interview may cost the candidate, in USD (the dispatch metadata's,
    or the user's own setting when lower: :func:`adopt_spending_cap`)."""
    resume_interview_id: str | None = None
    """An interview the candidate paused, to continue in this room (same user only)."""
    cost_cap_source: str | None = None
    """Where ``max_cost_usd`` came from: ``metadata`` or ``user_setting``."""
    live_cues: bool = True
    """Each answer's delivery cues are published while the interview runs (``false``
    turns them off)."""
    warnings: list[str] = field(default_factory=list)
    truncations: list[Truncation] = field(default_factory=list)
    name_given: bool = False
    from_room: list[str] = field(default_factory=list)
    """Fields taken from the room's metadata (the job's metadata left them out)."""
    from_attributes: list[str] = field(default_factory=list)
    """Fields taken from the candidate participant's attributes."""

    @property
    def role_label(self) -> str:
        """The role as spoken in prompts ("general" when none was given)."""
        return self.job_role or "general"

    @property
    def has_resume(self) -> bool:
        return bool(self.resume_text)

    @property
    def has_jd(self) -> bool:
        return bool(self.job_description)


def _clean_text(value: str) -> str:
    return clean_text(value).strip()


SERVER_FIELDS = (
    "user_id", "stages", "max_duration_s", "record_audio", "providers", "live_cues",
    "max_cost_usd", "resume_interview_id",
    *CONTEXT_FIELDS,
)  # fmt: skip
"""What the server-set sources (the job's and the room's metadata) may say."""


def parse_metadata(
    raw: str | bytes | None,
    *,
    require_user: bool,
    room: str | bytes | None = None,
    attributes: Mapping[str, str] | None = None,
) -> InterviewMetadata:
    """Parse the interview's context from up to three sources, in order of precedence:
    the job's dispatch metadata ``raw``, the room's metadata ``room``, and the candidate
    participant's ``attributes``. Empty metadata is an empty object. Bytes that are not
    UTF-8 and lone surrogates are replaced (U+FFFD) and a warning recorded, not refused.

    The room's metadata fills in any of :data:`SERVER_FIELDS` the job's leaves out (both
    are set by the server); when the job has metadata, room metadata that is not a JSON
    object is ignored with a warning (apps use it for other things), and without job
    metadata it is refused as job metadata would be. The attributes fill in only
    :data:`CONTEXT_FIELDS`: identity and limits never come from a participant."""
    data, cleaned = _object(raw, "metadata")
    warnings: list[str] = []
    from_room: list[str] = []
    if room:
        try:
            room_data, room_cleaned = _object(room, "room metadata")
        except MetadataError as e:
            if not data:
                raise
            warnings.append(f"{e}; ignored")
        else:
            cleaned = cleaned or room_cleaned
            for name in SERVER_FIELDS:
                if data.get(name) is None and room_data.get(name) is not None:
                    data[name] = room_data[name]
                    from_room.append(name)
    taken: list[str] = []
    for name in CONTEXT_FIELDS:
        value = (attributes or {}).get(name)
        if data.get(name) is None and isinstance(value, str) and value.strip():
            data[name] = value
            taken.append(name)
    md = _from_object(data, require_user=require_user)
    md.from_room = from_room
    md.from_attributes = taken
    md.warnings[:0] = warnings
    if cleaned:
        md.warnings.append("metadata was not valid UTF-8; invalid bytes replaced")
    return md


def _object(raw: str | bytes | None, what: str) -> tuple[dict[str, Any], bool]:
    """One source as a JSON object, and whether invalid UTF-8 was replaced."""
    cleaned = False
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = raw.decode("utf-8", "replace")
            cleaned = True
    raw = (raw or "").strip()
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_METADATA_BYTES:
        raise MetadataError(
            "bad_metadata", f"{what} is larger than {MAX_METADATA_BYTES} bytes; refusing it"
        )
    if not raw:
        return {}, cleaned
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as e:
        raise MetadataError("bad_metadata", f"{what} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise MetadataError(
            "bad_metadata", f"{what} must be a JSON object, got {type(data).__name__}"
        )
    return data, cleaned


def _from_object(data: dict[str, Any], *, require_user: bool) -> InterviewMetadata:
    """Each field on its own: a bad one is defaulted and warned about (``md.warnings``);
    only a missing or malformed ``user_id`` in dispatch mode raises."""
    md = InterviewMetadata()
    _user_id(md, data.get("user_id"), require_user=require_user)
    if (name := _text(md, data, "candidate_name")) is not None:
        md.candidate_name = name
        md.name_given = True
    if (role := _text(md, data, "job_role")) is not None:
        md.job_role = role
    md.resume_text = _text(md, data, "resume_text")
    md.job_description = _text(md, data, "job_description")
    _level(md, data.get("experience_level"))
    _plan(md, data.get("stages"))
    _duration(md, data.get("max_duration_s"))
    _language(md, data.get("language"))
    _consent(md, data.get("record_audio"))
    _preferences(md, data.get("providers"))
    _cues(md, data.get("live_cues"))
    _resume(md, data.get("resume_interview_id"))
    if (cap := _cost_cap(md.warnings, data.get("max_cost_usd"), "max_cost_usd")) is not None:
        md.max_cost_usd, md.cost_cap_source = cap, "metadata"
    return md


MAX_COST_USD = 1000.0


def _cost_cap(warnings: list[str], value: Any, where: str) -> float | None:
    """A spending cap in USD: a positive number up to :data:`MAX_COST_USD`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        warnings.append(f"{where} must be a positive number of US dollars; no cap from it")
        return None
    if value > MAX_COST_USD:
        warnings.append(f"{where} {value} is out of range; no cap from it")
        return None
    return float(value)


def adopt_spending_cap(md: InterviewMetadata, saved: Any) -> None:
    """The user's own spending cap (their key row's ``max_cost_usd``): it applies when
    the metadata sets none or a higher one (the lower cap wins)."""
    cap = _cost_cap(md.warnings, saved, "the saved max_cost_usd")
    if cap is not None and (md.max_cost_usd is None or cap < md.max_cost_usd):
        md.max_cost_usd, md.cost_cap_source = cap, "user_setting"


def _cues(md: InterviewMetadata, value: Any) -> None:
    """Live cues are on unless ``live_cues`` is ``false``."""
    if value is False:
        md.live_cues = False
    elif value is not None and value is not True:
        md.warnings.append("live_cues must be true or false; cues stay on")


PROVIDER_KINDS = ("stt", "llm", "tts")
_PROVIDER_NAME = re.compile(r"[a-z0-9_-]{1,40}")


def _preferences(md: InterviewMetadata, value: Any) -> None:
    """``providers``: an object of kind → a provider name (preferred first) or a list of
    names (exactly those, in that order); anything else is warned about and ignored."""
    md.providers.update(provider_preferences(value, md.warnings))


def provider_preferences(
    value: Any, warnings: list[str], *, where: str = "providers"
) -> dict[str, str | list[str]]:
    """A ``providers`` object read: kind → a provider name or a list of names. What is
    not one is warned about (in ``warnings``, naming ``where``) and left out."""
    out: dict[str, str | list[str]] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        warnings.append(f"{where} must be an object of kind to provider; ignored")
        return out
    for kind, wanted in value.items():
        names = wanted if isinstance(wanted, list) else [wanted]
        if kind not in PROVIDER_KINDS:
            warnings.append(f"{where}: unknown kind {str(kind)[:20]!r}; ignored")
        elif not 1 <= len(names) <= 8 or not all(
            isinstance(n, str) and _PROVIDER_NAME.fullmatch(n) for n in names
        ):
            warnings.append(f"{where}.{kind} must be a provider name or a list of them; ignored")
        else:
            out[kind] = list(names) if isinstance(wanted, list) else wanted
    return out


def adopt_saved_preference(md: InterviewMetadata, saved: Any) -> None:
    """The user's own order of providers (their key row's ``provider_preference``) for
    each kind the dispatch metadata does not order: the metadata wins per kind."""
    for kind, wanted in provider_preferences(saved, md.warnings, where="saved providers").items():
        md.providers.setdefault(kind, wanted)


def _consent(md: InterviewMetadata, value: Any) -> None:
    """Recording needs an explicit ``true``; anything else records nothing."""
    if value is None or value is False:
        return
    if value is True:
        md.record_audio = True
    else:
        md.warnings.append("record_audio must be true or false; not recording")


def _resume(md: InterviewMetadata, value: Any) -> None:
    """``resume_interview_id``: the id of a paused interview (a UUID); a malformed one
    refuses the job, as continuing the wrong interview must never happen quietly."""
    if value is None:
        return
    try:
        md.resume_interview_id = str(uuid.UUID(str(value)))
    except (ValueError, AttributeError):
        raise MetadataError("bad_metadata", "resume_interview_id is not a UUID") from None


def _user_id(md: InterviewMetadata, value: Any, *, require_user: bool) -> None:
    if value is not None:
        try:
            md.user_id = str(uuid.UUID(str(value)))
        except (ValueError, AttributeError):
            if require_user:
                raise MetadataError("bad_metadata", "user_id is not a UUID") from None
            md.warnings.append("user_id is not a UUID; ignored")
    if require_user and md.user_id is None:
        raise MetadataError("missing_user", "metadata has no user_id (required in dispatch mode)")


def _text(md: InterviewMetadata, data: dict[str, Any], name: str) -> str | None:
    """A text field, cleaned and cut to its limit (the cut recorded)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        md.warnings.append(f"{name} must be a string, got {type(value).__name__}; ignored")
        return None
    value = _clean_text(value)
    limit = LIMITS[name]
    if len(value) > limit:
        md.truncations.append(Truncation(name, len(value), limit))
        md.warnings.append(f"{name} cut from {len(value)} to {limit} characters")
        value = value[:limit]
    return value or None


def _level(md: InterviewMetadata, level: Any) -> None:
    if level is None:
        return
    key = str(level).strip().lower() if isinstance(level, str) else None
    if key in LEVELS:
        md.experience_level = key  # type: ignore[assignment]
    elif key in LEVEL_ALIASES:
        md.experience_level = LEVEL_ALIASES[key]
    else:
        md.warnings.append(f"unknown experience_level {str(level)[:40]!r}; using 'mid'")


def _plan(md: InterviewMetadata, stages: Any) -> None:
    if stages is not None:
        if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
            md.warnings.append("stages must be a list of stage ids; using the default plan")
        else:
            try:
                md.plan = build_plan(stages)
            except PlanError as e:
                md.warnings.append(f"{e}; using the default plan")
    if not md.plan:
        md.plan = build_plan(None)


def _duration(md: InterviewMetadata, duration: Any) -> None:
    if duration is None:
        return
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        md.warnings.append("max_duration_s must be a number; using the default")
        return
    clamped = int(min(max(duration, MIN_DURATION_S), MAX_DURATION_S))
    if clamped != duration:
        md.warnings.append(f"max_duration_s {duration} out of range; using {clamped}")
    md.max_duration_s = clamped


def _language(md: InterviewMetadata, language: Any) -> None:
    if language is None:
        return
    if isinstance(language, str) and re.fullmatch(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?", language):
        md.language = language
    else:
        md.warnings.append("language must be a language tag like 'en'; using 'en'")
