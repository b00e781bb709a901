"""The providers an interview can use, as data (no LiveKit): the catalog and the choice."""

from .catalog import CATALOG, Catalog, KeySpec, Kind, Provider
from .choice import Choice, choose, voice_requirement
from .keys import ProviderKeys, unconfigured, usable

__all__ = [
    "CATALOG",
    "Catalog",
    "Choice",
    "KeySpec",
    "Kind",
    "Provider",
    "ProviderKeys",
    "choose",
    "unconfigured",
    "usable",
    "voice_requirement",
]
