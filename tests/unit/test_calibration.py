"""Travel calibration on trips made from a known profile: the fit finds the street grid
and predicts held-out trips closely; station turnout is the median; the calibration file
reads back; too few trips is an error that says so."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from services.analytics.calibration import (
    calibrate,
    parse_calibration,
    render_calibration,
    station_turnout,
    travel_samples,
)
from services.analytics.history import HistoricalIncident, HistoricalUnitResponse, instant_us
from services.common.jurisdiction import TravelProfile
from services.dispatch.travel import BandedTravel

S = 1_000_000
STATIONS = {"A": (37.775, -122.44), "B": (37.79, -122.42), "C": (37.76, -122.46)}
TRUTH = TravelProfile.model_validate(
    {
        "road_factor": 1.0,
        "grid_bearing_deg": 20.0,
        "bands_apply": "each_stretch",
        "speeds": [{"up_to_km": 0.25, "kmh": 12.0}, {"up_to_km": 1.0, "kmh": 35.0}, {"kmh": 50.0}],
    }
)


def trips(count: int, seed: int = 1) -> list[HistoricalIncident]:
    rng = np.random.default_rng(seed)
    truth = BandedTravel(TRUTH)
    out = []
    for i in range(count):
        station = ["A", "B", "C"][i % 3]
        lat0, lon0 = STATIONS[station]
        at = (lat0 + rng.uniform(-0.02, 0.02), lon0 + rng.uniform(-0.02, 0.02))
        seconds = truth.seconds(at, np.array([lat0]), np.array([lon0]))[0]
        seconds *= rng.uniform(0.95, 1.05)  # a little noise
        year = 2010 + i % 6
        t0 = instant_us(datetime(year, 6, 1, tzinfo=UTC)) + i * 3600 * S
        en_route = t0 + 60 * S + int(rng.integers(40, 80)) * S
        unit = HistoricalUnitResponse(
            f"E-{station}",
            "ENGINE",
            "engine",
            station,
            t0 + 60 * S,
            en_route,
            en_route + int(seconds * S),
            None,
        )
        out.append(
            HistoricalIncident(
                str(i), str(i), "Structure Fire", t0, t0 + 60 * S, at[0], at[1], station, 1, (unit,)
            )
        )
    return out


def test_the_fit_finds_the_grid_and_predicts_held_out_years() -> None:
    result = calibrate(trips(600), STATIONS, held_out_years=[2015])
    assert result.profile.grid_bearing_deg == pytest.approx(20, abs=4)
    assert result.after_held_out.n == 100
    assert result.after_held_out.median_s is not None and result.after_held_out.median_s < 5
    assert result.before_held_out.median_s is not None
    assert result.before_held_out.median_s > 3 * result.after_held_out.median_s
    speeds = [band.kmh for band in result.profile.speeds]
    assert speeds == sorted(speeds)  # never slower farther out
    note = result.profile.calibration
    assert note is not None and (note.fitted_years, note.held_out_years) == ("2010-2014", "2015")


def test_station_turnout_is_the_median_of_each_stations_engines() -> None:
    turnout = station_turnout(trips(60))
    assert set(turnout) == {"A", "B", "C"}
    assert all(40 <= t <= 80 for t in turnout.values())
    assert station_turnout(trips(6)) == {}  # too few responses: the tier's turnout stands


def test_the_calibration_file_reads_back() -> None:
    result = calibrate(trips(300), STATIONS, held_out_years=[2015])
    text = render_calibration(result, ["a header line"])
    assert text.startswith("# a header line\n")
    back = parse_calibration(text)
    assert back.travel == result.profile
    assert back.station_turnout_seconds == dict(result.station_turnout_seconds)
    with pytest.raises(ValueError, match=r"travel\.speeds"):
        parse_calibration("travel: {road_factor: 1, speeds: []}\n")


def test_trips_without_a_known_station_or_time_are_not_samples() -> None:
    incidents = trips(3)
    stray = incidents[0].units[0]
    no_time = HistoricalUnitResponse(
        "E-X", "ENGINE", "engine", "A", stray.dispatched_us, None, stray.on_scene_us
    )
    odd = [
        incidents[1],
        HistoricalIncident("x", "x", "Structure Fire", 0, 0, 37.7, -122.4, "", 1, (no_time,)),
    ]
    assert [s.incident_id for s in travel_samples(odd, STATIONS)] == ["1"]
    with pytest.raises(ValueError, match="at least 30 are needed"):
        calibrate(trips(20), STATIONS, held_out_years=[2015])
