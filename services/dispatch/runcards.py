"""Run cards as data: ``services/config/run-cards.yaml`` (override with ``UC_RUN_CARDS_FILE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.config import CONFIG_DIR, settings
from services.common.errors import InvalidArgument
from services.common.jurisdiction import CAPABILITIES
from services.common.yaml_models import load_yaml_model

DEFAULT_RUN_CARDS = CONFIG_DIR / "run-cards.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirstIntervention(_Strict):
    within_seconds: Annotated[int, Field(gt=0, le=1800)] = 180
    only_tiers: frozenset[str] = frozenset({"MICRO_STATION"})


class DuplicateRule(_Strict):
    radius_m: Annotated[float, Field(gt=0, le=5000)] = 300
    window_minutes: Annotated[float, Field(gt=0, le=1440)] = 30


class IncidentType(_Strict):
    label: str
    family: str
    first_intervention: bool = False
    levels: dict[Annotated[int, Field(ge=1, le=5)], dict[str, Annotated[int, Field(ge=1)]]]

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if 1 not in self.levels:
            raise ValueError("level 1 is required")
        for level, card in self.levels.items():
            unknown = sorted(set(card) - CAPABILITIES)
            if unknown:
                raise ValueError(f"level {level}: unknown capabilities {unknown}")
        return self


class RunCards(_Strict):
    first_intervention: FirstIntervention = FirstIntervention()
    duplicates: DuplicateRule = DuplicateRule()
    incident_types: dict[str, IncidentType]

    def card(self, incident_type: str, level: int) -> dict[str, int]:
        """The capability card for the type at the level (the highest level defined at
        or below ``level``)."""
        card = self.incident_types[incident_type]
        defined = [n for n in card.levels if n <= level]
        return dict(card.levels[max(defined)]) if defined else dict(card.levels[1])

    def check_incident_type(self, incident_type: str) -> str:
        """The type, if the run cards know it: they are the catalogue of incident types.
        ``InvalidArgument`` naming the known ones otherwise."""
        if incident_type not in self.incident_types:
            raise InvalidArgument(
                f"unknown incident type {incident_type!r}; known: {sorted(self.incident_types)}"
            )
        return incident_type

    def same_family(self, a: str, b: str) -> bool:
        types = self.incident_types
        return a in types and b in types and types[a].family == types[b].family


class RunCardError(ValueError):
    pass


def load_run_cards(path: str | Path | None = None) -> RunCards:
    path = Path(path or settings().uc_run_cards_file or DEFAULT_RUN_CARDS)
    return load_yaml_model(path, RunCards, RunCardError, what="run cards")
