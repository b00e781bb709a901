"""Which providers an interview uses, from the keys it has: one rule, said in words.

Per kind, the providers whose key is there, in the candidate's order or else the
catalog's default order: the first serves, the others stand by and take over when it
fails (LiveKit's fallback adapters). The candidate's preference for a kind is a provider
name (it goes first, the others still stand by) or a list of names (exactly those, in
that order). No model key: the offline interviewer (the question bank) asks. Speech-to-
text and a voice both there: a voice interview; else typed answers and written replies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .catalog import CATALOG, Catalog, Kind, Provider

Preference = str | Sequence[str]
"""A provider name (preferred first), or names (exactly those, in that order)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """The providers of one interview and why."""

    stt: Provider | None
    llm: Provider | None
    tts: Provider | None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Key name → the vendor as a person names it (for the reason)."""
    vendors: Mapping[Kind, str] = field(default_factory=dict)
    """Per kind, the vendors that could serve it, in words (for the reason)."""
    ignored: tuple[str, ...] = ()
    """Preferences that could not be followed (no such provider, or no key for it)."""
    fallbacks: Mapping[Kind, tuple[Provider, ...]] = field(default_factory=dict)
    """Per kind, the providers standing by, in the order they take over."""
    typed_because: str | None = None
    """Why the interview is typed although the keys would give a voice."""

    @property
    def voice(self) -> bool:
        return self.stt is not None and self.tts is not None

    @property
    def offline(self) -> bool:
        """The offline interviewer asks (no model key)."""
        return self.llm is None

    @property
    def mode(self) -> str:
        return "voice" if self.voice else "text"

    def of(self, kind: Kind) -> Provider | None:
        return {Kind.STT: self.stt, Kind.LLM: self.llm, Kind.TTS: self.tts}[kind]

    def chain(self, kind: Kind) -> tuple[Provider, ...]:
        """The provider serving ``kind``, then those standing by (empty: none)."""
        first = self.of(kind)
        return () if first is None else (first, *self.fallbacks.get(kind, ()))

    def used(self) -> list[Kind]:
        return [Kind.STT, Kind.LLM, Kind.TTS] if self.voice else [Kind.LLM]

    def typed(self, why: str) -> Choice:
        """The same interviewer with typed answers and written replies, for ``why``."""
        llm_only = {Kind.LLM: self.fallbacks[Kind.LLM]} if Kind.LLM in self.fallbacks else {}
        return replace(self, stt=None, tts=None, fallbacks=llm_only, typed_because=why)

    def _label(self, p: Provider) -> str:
        return self.labels.get(p.key, p.key)

    @property
    def reason(self) -> str:
        """Which providers and why, in one sentence's words."""
        if self.voice and self.stt is not None and self.tts is not None:
            mode = (
                f"a voice interview: speech-to-text by {self._label(self.stt)}, "
                f"voice by {self._label(self.tts)}"
            )
        elif self.typed_because is not None:
            mode = f"a typed interview: {self.typed_because}"
        else:
            missing = [
                f"no {k.title} key ({self.vendors.get(k) or 'none known'})"
                for k in (Kind.STT, Kind.TTS)
                if self.of(k) is None
            ]
            mode = f"a typed interview: {' and '.join(missing)}"
        parts = [mode]
        if self.llm is not None:
            parts.append(f"the interviewer is {self._label(self.llm)}'s model")
        else:
            no_model = self.vendors.get(Kind.LLM) or "none known"
            parts.append(f"the offline interviewer asks: no model key ({no_model})")
        standing = [
            f"{self._label(p)} for the {k.title}"
            for k in (Kind.STT, Kind.LLM, Kind.TTS)
            if k in self.used()
            for p in self.fallbacks.get(k, ())
        ]
        if standing:
            parts.append("standing by: " + ", ".join(standing))
        return "; ".join(parts)

    def summary(self) -> dict[str, object]:
        """What ``interviews.metadata.providers`` holds (docs/CONTRACTS.md)."""
        return {
            "mode": self.mode,
            "interviewer": "offline" if self.offline else "model",
            "stt": self.stt.key if self.voice and self.stt else None,
            "llm": self.llm.key if self.llm else None,
            "tts": self.tts.key if self.voice and self.tts else None,
            "fallback": {
                k.value: [p.key for p in self.fallbacks[k]]
                for k in self.used()
                if self.fallbacks.get(k)
            },
            "reason": self.reason,
        }


def _chain(
    catalog: Catalog, kind: Kind, present: Collection[str], wanted: Preference | None
) -> tuple[list[Provider], str | None]:
    """The providers of ``kind`` in order and, when the preference was not followed, why."""
    default = [p for p in catalog.of_kind(kind) if p.key in present]
    if wanted is None:
        return default, None
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    exact = not isinstance(wanted, str)
    listed: list[Provider] = []
    notes = []
    for name in names:
        provider = catalog.provider(kind, name)
        if provider is None:
            notes.append(f"no {kind.title} provider named {name!r}")
        elif name not in present:
            notes.append(f"{name!r} preferred but no {name} key")
        elif provider not in listed:
            listed.append(provider)
    note = f"{kind.value}: {'; '.join(notes)}" if notes else None
    if not listed:
        return default, note
    if exact:
        return listed, note
    return [*listed, *(p for p in default if p not in listed)], note


def choose(
    present: Collection[str],
    preference: Mapping[str, Preference] | None = None,
    catalog: Catalog = CATALOG,
) -> Choice:
    """The providers for the keys ``present`` (key names), with the candidate's
    ``preference`` (kind → a name, or a list of names) where it can be followed."""
    preference = preference or {}
    chains: dict[Kind, list[Provider]] = {}
    ignored = []
    for kind in Kind:
        chains[kind], note = _chain(catalog, kind, present, preference.get(kind.value))
        if note:
            ignored.append(note)
    first = {k: (c[0] if c else None) for k, c in chains.items()}
    return Choice(
        stt=first[Kind.STT],
        llm=first[Kind.LLM],
        tts=first[Kind.TTS],
        labels={k.name: k.label for k in catalog.keys},
        vendors={k: either(catalog.vendors(k)) for k in Kind},
        ignored=tuple(ignored),
        fallbacks={k: tuple(c[1:]) for k, c in chains.items() if len(c) > 1},
    )


def either(names: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return " or ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} or {names[-1]}"


def voice_requirement(catalog: Catalog = CATALOG) -> str:
    """What a voice interview needs, in words (the refusal when a user has none of it)."""
    stt = either(catalog.vendors(Kind.STT))
    tts = either(catalog.vendors(Kind.TTS))
    return f"a speech-to-text key ({stt}) and a voice key ({tts})"
