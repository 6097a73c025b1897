"""The period report from the record equals the period report from the CSV: every SF
incident is imported through dispatch's import (into a store in memory), its events are
folded as the incident log folds them (``services/incidents/period.py``), and the figures
(the period, every district and month) are the same to the last digit as those read
straight from the CAD export; so is the JSON the two print."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.analytics.cad import load_mapping, read_cad
from services.analytics.history_import import import_request
from services.analytics.period import period_report
from services.analytics.period_page import period_json, period_range
from services.common.envelope import EventEnvelope, to_envelope
from services.common.eventstore import EventStore
from services.common.jurisdiction import load_jurisdiction
from services.dispatch.api import import_command
from services.dispatch.app import DispatchApp
from services.dispatch.history import known_units
from services.incidents.ordering import ordered
from services.incidents.period import historical_incidents
from services.incidents.view import fold

ROOT = Path(__file__).resolve().parents[2]
CALLS = ROOT.parent / "shared" / "data" / "sf" / "calls-lone-mountain-2009-2019.csv"
SF = ROOT / "services/config/jurisdiction/san-francisco.yaml"
ZONE = ZoneInfo("America/Los_Angeles")
pytestmark = pytest.mark.skipif(not CALLS.exists(), reason=f"the shared SF data is not at {CALLS}")


@pytest.fixture(scope="module")
def both() -> tuple[list, list]:  # type: ignore[type-arg]
    """(incidents read from the CSV, incidents read back from the record)."""
    jurisdiction = load_jurisdiction(SF)
    mapping = load_mapping()
    units = {u.id: s.id for s, u in jurisdiction.units()}
    found = read_cad(CALLS.read_text(encoding="utf-8"), mapping, units)
    app = DispatchApp(
        EventStore.in_memory(),
        bounds=jurisdiction.jurisdiction.bounds,
        known_units=known_units(jurisdiction),
    )
    for incident in found.incidents:
        request = import_request(incident, mapping, "sf-calls-for-service", CALLS.name)
        app.import_history(import_command(request), "ADMIN:admin-01")
    logs: dict[str, list[EventEnvelope]] = defaultdict(list)
    for event in app.store.iter_all():
        logs[event.correlation_id].append(to_envelope(event, "dispatch"))
    record = historical_incidents(fold(ordered(entries)) for entries in logs.values())
    return list(found.incidents), record


def test_every_incident_reads_back(both: tuple[list, list]) -> None:  # type: ignore[type-arg]
    csv, record = both
    assert len(record) == len(csv) == 900


@pytest.mark.parametrize(
    ("start", "end", "district"),
    [
        ("2009-01-01", "2019-12-31", None),
        ("2016-01-01", "2018-12-31", None),
        ("2012-03-01", "2012-11-30", "SF-21"),  # daylight saving begins and ends inside
        ("2030-01-01", "2030-12-31", None),  # nothing: an empty report
    ],
)
def test_the_figures_from_the_record_equal_those_from_the_csv(
    both: tuple[list, list],  # type: ignore[type-arg]
    start: str,
    end: str,
    district: str | None,
) -> None:
    csv, record = both
    begin, finish = period_range(start, end, ZONE)
    from_csv = period_report(csv, begin, finish, ZONE, district)
    from_record = period_report(record, begin, finish, ZONE, district)
    assert from_record.overall == from_csv.overall
    assert from_record.by_district == from_csv.by_district
    assert from_record.by_month == from_csv.by_month
    assert period_json(from_record) == period_json(from_csv)
    assert [
        (t.received_us, t.first_engine, t.first_engine_station) for t in from_record.incidents
    ] == [(t.received_us, t.first_engine, t.first_engine_station) for t in from_csv.incidents]
