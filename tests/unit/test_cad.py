"""Reading a CAD export through its column mapping: local times in the file's own zone
(daylight saving included) kept as UTC instants, one record per incident, every bad row
named by line, column and reason and left out whole."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.analytics.cad import CadFileError, load_mapping, read_cad
from services.analytics.history import instant_us

HEADER = (
    "Call Number,Unit ID,Incident Number,Call Type,Received DtTm,Dispatch DtTm,"
    "Response DtTm,On Scene DtTm,Available DtTm,Address,Station Area,Number of Alarms,"
    "Unit Type,Location"
)


def row(
    unit: str,
    incident: str = "17000001",
    unit_type: str = "ENGINE",
    *,
    received: str = "07/01/2017 02:00:00 PM",
    dispatched: str = "07/01/2017 02:01:00 PM",
    en_route: str = "07/01/2017 02:02:00 PM",
    on_scene: str = "07/01/2017 02:05:00 PM",
    available: str = "07/01/2017 02:30:00 PM",
    area: str = "21",
    location: str = '"(37.7751, -122.4446)"',
    call_type: str = "Structure Fire",
) -> str:
    return (
        f"1,{unit},{incident},{call_type},{received},{dispatched},{en_route},{on_scene},"
        f"{available},GROVE ST,{area},1,{unit_type},{location}"
    )


def read(*rows: str, units: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return read_cad("\n".join([HEADER, *rows]) + "\n", load_mapping(), units)


def pacific(text: str, fold: int = 0) -> int:
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return instant_us(naive.replace(tzinfo=ZoneInfo("America/Los_Angeles"), fold=fold))


def test_one_incident_with_its_units_and_every_time_as_a_utc_instant() -> None:
    found = read(row("E21"), row("T10", unit_type="TRUCK", dispatched="07/01/2017 02:01:30 PM"))
    (incident,) = found.incidents
    assert incident.incident_id == "17000001"
    assert incident.station_area == "SF-21"
    assert (incident.latitude, incident.longitude) == (37.7751, -122.4446)
    # 14:00 PDT (UTC-7) is 21:00 UTC.
    assert incident.received_us == instant_us(datetime(2017, 7, 1, 21, 0, tzinfo=UTC))
    assert incident.dispatched_us == incident.received_us + 60_000_000
    engine, truck = incident.units
    assert (engine.unit_id, engine.capability, truck.capability) == ("E21", "engine", "aerial")
    assert engine.turnout_s == 60 and engine.travel_s == 180
    assert found.problems == () and found.rows == 2


def test_winter_times_are_pacific_standard_time() -> None:
    found = read(
        row(
            "E21",
            received="01/10/2009 02:36:01 PM",
            dispatched="01/10/2009 02:37:22 PM",
            en_route="",
            on_scene="",
            available="01/10/2009 02:41:55 PM",
        )
    )
    (incident,) = found.incidents
    assert incident.received_us == instant_us(datetime(2009, 1, 10, 22, 36, 1, tzinfo=UTC))
    assert incident.units[0].en_route_us is None and incident.units[0].on_scene_us is None


def test_the_hour_the_clocks_go_back_keeps_each_unit_in_order() -> None:
    # 5 November 2017: 01:00-02:00 happens twice (PDT, then PST). A unit dispatched at
    # 01:50 (the first time) and on scene at 01:05 can only be on scene in the second.
    found = read(
        row(
            "E21",
            incident="17000002",
            received="11/05/2017 01:48:00 AM",
            dispatched="11/05/2017 01:50:00 AM",
            en_route="11/05/2017 01:51:00 AM",
            on_scene="11/05/2017 01:05:00 AM",
            available="11/05/2017 01:40:00 AM",
        )
    )
    (incident,) = found.incidents
    unit = incident.units[0]
    assert unit.dispatched_us == pacific("2017-11-05 01:50:00", fold=0)
    assert unit.on_scene_us == pacific("2017-11-05 01:05:00", fold=1)
    assert unit.travel_s == 14 * 60  # 01:51 PDT to 01:05 PST


def test_bad_rows_are_named_and_left_out_whole_and_the_incident_keeps_the_rest() -> None:
    found = read(
        row("E21"),
        row("E10", on_scene="07/01/2017 02:01:59 PM"),
        row("E12", location='""'),
        row("E31", dispatched="07/01/2017 25:01:00 PM"),
        row("E99"),
        row("Z1", unit_type="HOVERCRAFT"),
        row("E21", en_route="07/01/2017 02:03:00 PM"),
        row("E05", call_type="Outside Fire"),
        row("AM1", unit_type="PRIVATE"),
        units={"E21": "SF-21", "E10": "SF-10", "E12": "SF-12", "E31": "SF-31", "E05": "SF-05"},
    )
    assert [p.describe("calls.csv") for p in found.problems] == [
        "calls.csv:3: On Scene DtTm: 07/01/2017 02:01:59 PM is before Response DtTm "
        "(07/01/2017 02:02:00 PM): the unit was on scene before it was en route",
        "calls.csv:4: Location: empty: no location",
        "calls.csv:5: Dispatch DtTm: '07/01/2017 25:01:00 PM' is not a time like "
        "'01/10/2009 02:36:01 PM'",
        "calls.csv:6: Unit ID: 'E99' is not a unit of the jurisdiction",
        "calls.csv:7: Unit Type: 'HOVERCRAFT' is not in the mapping (AIRPORT, CHIEF, "
        "ENGINE, INVESTIGATION, MEDIC, PRIVATE, RESCUE CAPTAIN, RESCUE SQUAD, SUPPORT, TRUCK)",
        "calls.csv:8: Unit ID: E21 is already on this incident (line 2)",
        "calls.csv:9: Call Type: differs from the incident's line 2",
    ]
    (incident,) = found.incidents
    assert [u.unit_id for u in incident.units] == ["E21"]
    assert incident.units[0].station == "SF-21"
    assert found.skipped == {"PRIVATE": 1}


def test_a_file_for_another_zone_is_read_in_its_own() -> None:
    text = "\n".join([HEADER, row("E21")]) + "\n"
    tokyo = read_cad(text, load_mapping(), time_zone="Asia/Tokyo")
    assert tokyo.incidents[0].received_us == instant_us(datetime(2017, 7, 1, 5, 0, tzinfo=UTC))


def test_a_file_without_the_mapped_columns_is_refused_whole() -> None:
    with pytest.raises(CadFileError, match=r"the header lacks the mapped columns \['Address'"):
        read_cad("Call Number,Unit ID\n1,E21\n", load_mapping())


def test_no_rows_no_incidents() -> None:
    found = read()
    assert found.incidents == () and found.problems == () and found.rows == 0
