"""The provider keys of one session, held in memory (plain data)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class ProviderKeys(Mapping[str, str]):
    """Decrypted provider keys for one session, by key name (``openai``, ``deepgram``,
    ...). ``repr`` names the keys present, never their values; empty values are absent."""

    __slots__ = ("_secrets",)

    def __init__(
        self, secrets: Mapping[str, str | None] | None = None, /, **named: str | None
    ) -> None:
        merged = {**(secrets or {}), **named}
        self._secrets = {k: v for k, v in merged.items() if v}

    def __getitem__(self, name: str) -> str:
        return self._secrets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"ProviderKeys(present={list(self._secrets)})"

    __str__ = __repr__
