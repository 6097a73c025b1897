"""Travel times learned from history.

PLACEHOLDER: the file format only; the fitting follows.
"""

from __future__ import annotations

from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.jurisdiction import TravelProfile


class CalibrationFile(BaseModel):
    """What ``uc eta calibrate`` writes and ``uc jurisdiction import --travel`` reads:
    the travel profile and each measured station's turnout (seconds, by station id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    travel: TravelProfile
    station_turnout_seconds: dict[str, Annotated[int, Field(ge=0, le=3600)]] = {}


def parse_calibration(text: str, name: str = "<calibration>") -> CalibrationFile:
    try:
        data = yaml.safe_load(text)
        return CalibrationFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise ValueError(f"{name}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"{name}: {problems}") from None
