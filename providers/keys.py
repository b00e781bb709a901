"""The provider keys of one session, held in memory (plain data)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from .catalog import CATALOG, Catalog


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


def usable(
    keys: ProviderKeys, setting: Callable[[str], str | None], catalog: Catalog = CATALOG
) -> tuple[ProviderKeys, list[str]]:
    """The keys an interview may use here, and a note for each one set aside: a key whose
    provider needs the operator's settings (an endpoint of the deployment's own) is
    never used until they are given."""
    kept: dict[str, str] = {}
    notes: list[str] = []
    for name, value in keys.items():
        missing = unconfigured(name, setting, catalog)
        if missing:
            notes.append(
                f"the {name} key is set aside: this deployment has no {', '.join(missing)}"
            )
        else:
            kept[name] = value
    return ProviderKeys(kept), notes


def unconfigured(
    name: str, setting: Callable[[str], str | None], catalog: Catalog = CATALOG
) -> list[str]:
    """The operator's settings the key ``name`` still waits for (none for most keys)."""
    try:
        return [env for env in catalog.key(name).requires if not setting(env)]
    except KeyError:
        return []
