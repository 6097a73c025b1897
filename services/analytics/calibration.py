"""Travel times learned from history: the travel-time provider's profile (how distance
is measured, the road factor, a speed per road-distance band) fitted on the real travel
times of the first engine on scene (en route to on scene, from its station to the
incident), and each station's turnout (dispatch to en route) as measured. Pure: samples
in, profile and errors out; ``CalibrationFile`` is the YAML that ``uc eta calibrate``
writes and ``uc jurisdiction import --travel`` reads.

The fit:

- **Distance.** Measured either as the straight line, or along a street grid (taxicab
  distance on axes turned by a bearing, 0-89 degrees from north), whichever predicts the
  fitted years' travel times better (the smaller median absolute error: robust to the
  trips of units that were not in quarters); the bearing is searched degree by degree.
  The bearing is weakly determined by a neighbourhood's trips: on the SF calls the mean
  absolute error would choose 71 degrees instead of 3, with nearly the same errors but a
  worse ranking of stations (docs/ARCHITECTURE.md, "A real city").
- **Road factor.** Road km per measured km. Along a grid the taxicab distance is the road
  distance (factor 1); for the straight line it is the median ratio of the best grid's
  distance to the straight line over the fitted trips. Travel times alone cannot tell a
  longer road from a slower one: the factor sets the scale, the speeds take the rest.
- **Speeds.** Each stretch of road at its band's speed (``each_stretch``: the first
  ``BANDS[0]`` road km at the first speed, and so on), so a longer trip never takes less
  time, and a farther band is never slower (longer trips reach faster roads: the
  travel time is concave in distance). The speeds minimise the sum of absolute errors (a
  median fit, robust to units that were not in quarters when dispatched), by
  iteratively reweighted non-negative least squares. Bands the fitted trips hardly
  reach keep the default profile's speed there, never below the last fitted one.

Errors are ``|predicted - real|`` travel seconds, reported as the median and the 90th
percentile, on incidents of years held out from the fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from services.analytics.history import HistoricalIncident, moment
from services.common.geo import grid_km, offsets_km
from services.common.jurisdiction import TravelCalibration, TravelProfile
from services.common.yaml_models import parse_yaml_model
from services.dispatch.travel import (
    BandedTravel,
    LatLon,
    default_profile,
)

Floats = NDArray[np.float64]
BANDS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)  # road km: the bands' upper ends
MIN_SAMPLES_IN_BAND = 30  # trips reaching into a band before its speed is fitted
MIN_TURNOUT_SAMPLES = 10
SPEED_RANGE_KMH = (5.0, 60.0)  # what a fitted speed is held within (km/h)
ENGINE = "engine"


class CalibrationFile(BaseModel):
    """What ``uc eta calibrate`` writes and ``uc jurisdiction import --travel`` reads:
    the travel profile and each measured station's turnout (seconds, by station id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    travel: TravelProfile
    station_turnout_seconds: dict[str, Annotated[int, Field(ge=0, le=3600)]] = {}


def parse_calibration(text: str, name: str = "<calibration>") -> CalibrationFile:
    return parse_yaml_model(text, CalibrationFile, name=name)


@dataclass(frozen=True, slots=True)
class TravelSample:
    """One real trip: the first engine on scene, from its station to the incident."""

    incident_id: str
    year: int  # of the call, in UTC (a year boundary's hours do not matter here)
    station: str
    origin: LatLon  # the station (WGS-84 degrees)
    destination: LatLon  # the incident
    seconds: float  # en route to on scene


def travel_samples(
    incidents: Iterable[HistoricalIncident], stations: Mapping[str, LatLon]
) -> list[TravelSample]:
    """The first engine on scene of each incident, when its station is known and it has
    a positive travel time (en route to on scene)."""
    samples = []
    for incident in incidents:
        engine = incident.first_on_scene(ENGINE)
        if engine is None or engine.station not in stations:
            continue
        seconds = engine.travel_s
        if seconds is None or seconds <= 0:
            continue
        samples.append(
            TravelSample(
                incident.incident_id,
                moment(incident.received_us).year,
                engine.station,
                stations[engine.station],
                (incident.latitude, incident.longitude),
                seconds,
            )
        )
    return samples


def station_turnout(
    incidents: Iterable[HistoricalIncident], minimum: int = MIN_TURNOUT_SAMPLES
) -> dict[str, int]:
    """Each station's median engine turnout (dispatch to en route, seconds, rounded),
    over every engine of that station with both times; stations with fewer than
    ``minimum`` such responses are left out (their tier's turnout stands)."""
    by_station: dict[str, list[float]] = {}
    for incident in incidents:
        for unit in incident.with_capability(ENGINE):
            if unit.station and unit.turnout_s is not None:
                by_station.setdefault(unit.station, []).append(unit.turnout_s)
    return {
        station: round(float(np.median(values)))
        for station, values in sorted(by_station.items())
        if len(values) >= minimum
    }


def _km(samples: Sequence[TravelSample], bearing: float | None) -> Floats:
    """Each sample's measured km (as ``measured_km``: the destination's latitude sets
    the scale of a degree of longitude), vectorized over the samples."""
    east, north = offsets_km(
        np.array([s.origin[0] for s in samples]),
        np.array([s.origin[1] for s in samples]),
        np.array([s.destination[0] for s in samples]),
        np.array([s.destination[1] for s in samples]),
    )
    if bearing is None:
        km: Floats = np.hypot(east, north)
        return km
    return grid_km(east, north, bearing)


def _stretches(road_km: Floats, edges: Sequence[float]) -> Floats:
    """Kilometres of each trip inside each band: columns per band, the last open."""
    starts = np.array([0.0, *edges])
    ends = np.array([*edges, math.inf])
    inside: Floats = np.clip(road_km[:, None] - starts[None, :], 0.0, (ends - starts)[None, :])
    return inside


def _fit_speeds(road_km: Floats, seconds: Floats) -> list[float]:
    """Speeds (km/h) per band (``BANDS`` and the open one beyond) minimising the sum of
    absolute errors, never slower for a farther band (travel time grows ever more slowly
    with distance: longer trips reach faster roads); bands the trips hardly reach take
    the default profile's speed there, never below the last fitted one."""
    lengths = _stretches(road_km, BANDS)
    reached = (lengths > 0).sum(axis=0)
    count = 1 + max(
        (k for k in range(1, lengths.shape[1]) if reached[k] >= MIN_SAMPLES_IN_BAND), default=0
    )
    starts = np.array([0.0, *BANDS])[:count]
    # travel = p0 * d - sum_j delta_j * (d - start_j)+ with p0, delta_j >= 0: the pace of
    # band k is p0 - (delta_1 + ... + delta_k), never rising with the band.
    x = np.column_stack(
        [road_km] + [-np.maximum(road_km - starts[j], 0.0) for j in range(1, count)]
    )
    slow, fast = SPEED_RANGE_KMH
    weights = np.ones(len(seconds))
    for _ in range(30):  # iteratively reweighted least squares: the L1 (median) fit
        beta = _nonnegative_least_squares(x, seconds, weights)
        weights = 1.0 / np.maximum(np.abs(seconds - x @ beta), 1.0)
    pace = np.maximum(beta[0] - np.cumsum(np.concatenate(([0.0], beta[1:]))), 3600.0 / fast)
    pace = np.minimum(pace, 3600.0 / slow)
    speeds: list[float] = []
    default = default_profile()
    for k in range(lengths.shape[1]):
        if k < count:
            kmh = 3600.0 / float(pace[k])
        else:
            kmh = min(max(_default_speed(default, BANDS[k - 1]), speeds[-1]), fast)
        speeds.append(round(kmh, 1))
    return speeds


def _nonnegative_least_squares(x: Floats, y: Floats, weights: Floats) -> Floats:
    """argmin over beta >= 0 of sum(weights * (y - x @ beta)^2), by dropping the most
    negative coefficient and solving again until none is (a handful of columns: numpy's
    least squares, a few times)."""
    free = list(range(x.shape[1]))
    sw = np.sqrt(weights)
    beta = np.zeros(x.shape[1])
    while free:
        solved, *_ = np.linalg.lstsq(x[:, free] * sw[:, None], y * sw, rcond=None)
        if (solved >= 0).all():
            beta[free] = solved
            return beta
        free.pop(int(np.argmin(solved)))
    return beta


def _default_speed(profile: TravelProfile, road_km: float) -> float:
    for band in profile.speeds:
        if band.up_to_km is None or road_km < band.up_to_km:
            return band.kmh
    return profile.speeds[-1].kmh


def _profile(bearing: float | None, road_factor: float, speeds: Sequence[float]) -> TravelProfile:
    bands = [{"up_to_km": edge, "kmh": kmh} for edge, kmh in zip(BANDS, speeds, strict=False)]
    bands.append({"kmh": speeds[-1]})
    return TravelProfile.model_validate(
        {
            "road_factor": road_factor,
            "grid_bearing_deg": bearing,
            "bands_apply": "each_stretch",
            "speeds": bands,
        }
    )


def predict(profile: TravelProfile | None, samples: Sequence[TravelSample]) -> Floats:
    """Predicted travel seconds of each sample under a profile (None: the default)."""
    travel = BandedTravel(profile or default_profile())
    out = np.empty(len(samples))
    for i, s in enumerate(samples):
        out[i] = travel.seconds(s.destination, np.array([s.origin[0]]), np.array([s.origin[1]]))[0]
    return out


@dataclass(frozen=True, slots=True)
class Errors:
    """Absolute errors of predicted against real travel time, seconds."""

    n: int
    median_s: float | None
    p90_s: float | None


def errors(profile: TravelProfile | None, samples: Sequence[TravelSample]) -> Errors:
    if not samples:
        return Errors(0, None, None)
    real = np.array([s.seconds for s in samples])
    gaps = np.abs(predict(profile, samples) - real)
    return Errors(len(samples), float(np.median(gaps)), float(np.percentile(gaps, 90)))


def fit_profile(samples: Sequence[TravelSample]) -> TravelProfile:
    """The profile that best predicts ``samples`` (see the module's docstring)."""
    if len(samples) < MIN_SAMPLES_IN_BAND:
        raise ValueError(
            f"{len(samples)} travel samples: at least {MIN_SAMPLES_IN_BAND} are needed to fit"
        )
    seconds = np.array([s.seconds for s in samples])
    straight = _km(samples, None)
    best: tuple[float, float | None, Floats] | None = None
    for bearing in [None, *range(90)]:
        km = straight if bearing is None else _km(samples, float(bearing))
        speeds = _fit_speeds(km, seconds)
        gap = float(np.median(np.abs(_seconds(km, speeds) - seconds)))
        if best is None or gap < best[0] - 1e-9:
            best = (gap, None if bearing is None else float(bearing), km)
    assert best is not None
    _, bearing, km = best
    if bearing is None:
        # The straight line's road factor: how much longer the grid's way is, at the
        # bearing that fits best among the grids.
        grids = [(_grid_gap(samples, seconds, float(b)), float(b)) for b in range(90)]
        grid_km = _km(samples, min(grids)[1])
        road_factor = round(float(np.median(grid_km / np.maximum(straight, 1e-6))), 3)
    else:
        road_factor = 1.0
    speeds = _fit_speeds(km * road_factor, seconds)
    return _profile(bearing, road_factor, speeds)


def _grid_gap(samples: Sequence[TravelSample], seconds: Floats, bearing: float) -> float:
    km = _km(samples, bearing)
    return float(np.median(np.abs(_seconds(km, _fit_speeds(km, seconds)) - seconds)))


def _seconds(road_km: Floats, speeds: Sequence[float]) -> Floats:
    pace = 3600.0 / np.array(speeds)
    seconds: Floats = _stretches(road_km, BANDS) @ pace
    return seconds


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted profile with its errors before (the default profile) and after, on the
    fitted years and on the years held out."""

    profile: TravelProfile
    station_turnout_seconds: Mapping[str, int]
    fitted_years: tuple[int, ...]
    held_out_years: tuple[int, ...]
    before_fitted: Errors
    after_fitted: Errors
    before_held_out: Errors
    after_held_out: Errors

    def as_file(self) -> CalibrationFile:
        return CalibrationFile(
            travel=self.profile, station_turnout_seconds=dict(self.station_turnout_seconds)
        )


def _years(years: Iterable[int]) -> str:
    ordered = sorted(set(years))
    if not ordered:
        return ""
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(str(y) for y in ordered)


def calibrate(
    incidents: Sequence[HistoricalIncident],
    stations: Mapping[str, LatLon],
    held_out_years: Iterable[int],
    source: str = "",
) -> Calibration:
    """Fit on the years not held out; measure before and after on both."""
    held = set(held_out_years)
    samples = travel_samples(incidents, stations)
    fit = [s for s in samples if s.year not in held]
    test = [s for s in samples if s.year in held]
    profile = fit_profile(fit)
    fitted_incidents = [i for i in incidents if moment(i.received_us).year not in held]
    turnout = station_turnout(fitted_incidents)
    result = Calibration(
        profile=profile,
        station_turnout_seconds=turnout,
        fitted_years=tuple(sorted({s.year for s in fit})),
        held_out_years=tuple(sorted({s.year for s in test})),
        before_fitted=errors(None, fit),
        after_fitted=errors(profile, fit),
        before_held_out=errors(None, test),
        after_held_out=errors(profile, test),
    )
    note = TravelCalibration(
        source=source or "history",
        fitted_years=_years(result.fitted_years),
        held_out_years=_years(result.held_out_years),
        samples=len(fit),
        held_out_samples=len(test),
        median_abs_error_s=_round(result.after_held_out.median_s),
        p90_abs_error_s=_round(result.after_held_out.p90_s),
        default_median_abs_error_s=_round(result.before_held_out.median_s),
        default_p90_abs_error_s=_round(result.before_held_out.p90_s),
    )
    with_note = profile.model_copy(update={"calibration": note})
    return Calibration(
        with_note,
        turnout,
        result.fitted_years,
        result.held_out_years,
        result.before_fitted,
        result.after_fitted,
        result.before_held_out,
        result.after_held_out,
    )


def by_year(
    incidents: Sequence[HistoricalIncident], stations: Mapping[str, LatLon]
) -> list[tuple[int, Errors, Errors]]:
    """Each year held out in turn, the profile fitted on all the others: (year, errors of
    the default profile, errors of the fitted one) on that year's trips."""
    samples = travel_samples(incidents, stations)
    out = []
    for year in sorted({s.year for s in samples}):
        test = [s for s in samples if s.year == year]
        profile = fit_profile([s for s in samples if s.year != year])
        out.append((year, errors(None, test), errors(profile, test)))
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def render_calibration(result: Calibration, header: Sequence[str] = ()) -> str:
    """The calibration file's text: a comment header, then the YAML."""
    data = result.as_file().model_dump(exclude_none=True)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
    lines = [f"# {line}" if line else "#" for line in header]
    return "\n".join([*lines, body]) if lines else body
