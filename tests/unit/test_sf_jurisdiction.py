"""The San Francisco jurisdiction shipped in services/config/jurisdiction/: it loads (with its
calibrated travel profile), keeps OpenStreetMap's attribution, and rebuilding it from the
OpenStreetMap stations, the roster and the calibration gives the same file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.cli.main import main
from services.common.jurisdiction import load_jurisdiction
from services.dispatch.travel import BandedTravel, travel_for

ROOT = Path(__file__).resolve().parents[2]
SF = ROOT / "services/config/jurisdiction/san-francisco.yaml"
SOURCES = ROOT / "services/config/jurisdiction/sources"
STATIONS = ROOT.parent / "shared" / "data" / "sf" / "fire-stations-osm.csv"


def test_the_sf_jurisdiction_loads_with_its_units_zone_and_travel_profile() -> None:
    city = load_jurisdiction(SF)
    assert city.jurisdiction.time_zone == "America/Los_Angeles"
    assert "OpenStreetMap contributors" in city.jurisdiction.attribution
    assert "ODbL" in SF.read_text(encoding="utf-8").split("\n\n")[0]  # the file's header
    assert len(city.stations) == 45
    capabilities = Counter(c for _, u in city.units() for c in u.capabilities)
    assert capabilities["engine"] == 44  # every station but the ambulance facility (49)
    assert capabilities["aerial"] == 11 and capabilities["rescue"] == 2
    assert capabilities["command"] == 13  # 8 battalions, 2 divisions, 3 rescue captains
    units = {u.id: s.id for s, u in city.units()}
    assert (units["E21"], units["T10"], units["RS1"]) == ("SF-21", "SF-10", "SF-01")
    assert isinstance(travel_for(city), BandedTravel)
    measured = {s.id: s.turnout_seconds for s in city.stations if s.turnout_seconds}
    assert measured["SF-21"] == 60


@pytest.mark.skipif(not STATIONS.exists(), reason=f"the shared SF data is not at {STATIONS}")
def test_rebuilding_the_sf_jurisdiction_gives_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "san-francisco.yaml"
    result = CliRunner().invoke(
        main,
        [
            "jurisdiction",
            "import",
            "--stations",
            str(STATIONS),
            "--roster",
            str(SOURCES / "san-francisco-roster.yaml"),
            "--travel",
            str(SOURCES / "san-francisco-travel.yaml"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == SF.read_text(encoding="utf-8"), (
        "services/config/jurisdiction/san-francisco.yaml differs from what its sources build: "
        "build it "
        "again (the command is in the roster's header)"
    )
