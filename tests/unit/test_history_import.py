"""Historical incidents written into dispatch's store (``ImportHistoricalIncident``): the
ordinary events at their original instants in a ``history-`` stream, actor
``SYSTEM:import:<file>``; refused whole (naming the field) when wrong; idempotent; never
seen by the request filler or the active board; folded by the incident log's view like
any incident."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.analytics.cad import load_mapping, read_cad
from services.analytics.history import instant_us
from services.analytics.history_import import import_request
from services.common.enums import IncidentStatus
from services.common.envelope import to_envelope
from services.common.errors import InvalidArgument
from services.common.eventstore import EventStore
from services.common.jurisdiction import load_jurisdiction
from services.common.streams import is_history
from services.dispatch.api import import_command
from services.dispatch.app import DispatchApp
from services.dispatch.history import historical_incident_id, history_stream, known_units
from services.incidents.view import fold
from tests.unit.test_cad import HEADER, row

SF = "services/config/jurisdiction/san-francisco.yaml"
ADMIN = "ADMIN:admin-01"


@pytest.fixture(scope="module")
def units() -> dict[str, object]:
    return known_units(load_jurisdiction(SF))  # type: ignore[return-value]


@pytest.fixture
def app(units: dict) -> DispatchApp:  # type: ignore[type-arg]
    jurisdiction = load_jurisdiction(SF)
    return DispatchApp(
        EventStore.in_memory(), bounds=jurisdiction.jurisdiction.bounds, known_units=units
    )


def requests(*rows: str):  # type: ignore[no-untyped-def]
    mapping = load_mapping()
    found = read_cad("\n".join([HEADER, *rows]) + "\n", mapping)
    return [
        import_request(i, mapping, "sf-calls-for-service", "slice.csv") for i in found.incidents
    ]


def test_an_incident_is_its_ordinary_events_at_the_original_instants(app: DispatchApp) -> None:
    (request,) = requests(
        row("E21"),
        row("T10", unit_type="TRUCK", dispatched="07/01/2017 02:01:30 PM"),
    )
    incident_id, imported, count = app.import_history(import_command(request), ADMIN)
    assert imported and incident_id == historical_incident_id("sf-calls-for-service", "17000001")
    events = app.store.read_stream(history_stream(incident_id), 0)
    assert len(events) == count
    assert events[0].event_type == "IncidentImported"
    assert {e.actor for e in events} == {"SYSTEM:import:slice.csv"}
    assert {e.correlation_id for e in events} == {incident_id}
    # 14:00 PDT (UTC-7) on 1 July 2017 is 21:00 UTC; the times are the CAD's, not now.
    received = instant_us(datetime(2017, 7, 1, 21, 0, tzinfo=UTC))
    assert events[0].occurred_at == received
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
    view = fold(to_envelope(e, "dispatch") for e in events)
    assert view.status is IncidentStatus.CLOSED
    assert view.incident_type == "residential_fire"
    assert view.district == "SF-21" and view.imported_from == "sf-calls-for-service:17000001"
    assert view.first_call_us == received and view.opened_us == received
    engine = view.units["E21"]
    assert engine.capability == "engine" and engine.station_name
    assert engine.dispatched_us == received + 60_000_000
    assert engine.en_route_us == received + 120_000_000
    assert engine.on_scene_us == received + 300_000_000
    assert engine.released_us == received + 1_800_000_000
    assert view.unit_stations == {"E21": "SF-21", "T10": "SF-10"}


def test_winter_times_are_read_at_the_winter_offset(app: DispatchApp) -> None:
    (request,) = requests(
        row(
            "E21",
            received="01/10/2009 02:36:01 PM",
            dispatched="01/10/2009 02:37:22 PM",
            en_route="01/10/2009 02:38:32 PM",
            on_scene="01/10/2009 02:41:11 PM",
            available="01/10/2009 02:41:55 PM",
        )
    )
    incident_id, _, _ = app.import_history(import_command(request), ADMIN)
    first = app.store.read_stream(history_stream(incident_id), 0)[0]
    # 14:36:01 PST (UTC-8) is 22:36:01 UTC.
    assert first.occurred_at == instant_us(datetime(2009, 1, 10, 22, 36, 1, tzinfo=UTC))


def test_importing_again_adds_nothing(app: DispatchApp) -> None:
    (request,) = requests(row("E21"))
    first = app.import_history(import_command(request), ADMIN)
    written = app.store.max_position()
    again = app.import_history(import_command(request), "ADMIN:someone-else")
    assert again == (first[0], False, first[2])
    assert app.store.max_position() == written


def test_history_is_not_work_for_dispatch(app: DispatchApp) -> None:
    """The request filler and the active board read only incident- streams."""
    (request,) = requests(row("E21"))
    incident_id, _, _ = app.import_history(import_command(request), ADMIN)
    assert is_history(history_stream(incident_id))
    assert app.incidents_with_work() == []
    assert app.list_incidents(set(IncidentStatus), 100) == []
    assert app.incidents.find(incident_id) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.units[0].ClearField("dispatched_at"), "units[0].dispatched_at is required"),
        (lambda r: r.ClearField("location"), "location is required"),
        (lambda r: setattr(r.units[0], "unit_id", "E99"), "units[0].unit_id 'E99'"),
        (
            lambda r: r.units[0].on_scene_at.FromSeconds(r.units[0].en_route_at.seconds - 1),
            "units[0].on_scene_at is before units[0].en_route_at",
        ),
        (lambda r: setattr(r, "incident_type", "volcano"), "volcano"),
        (lambda r: setattr(r.location, "latitude", 30.0), "outside the jurisdiction"),
        (lambda r: r.ClearField("received_at"), "received_at is required"),
    ],
)
def test_a_wrong_incident_is_refused_whole_naming_the_field(
    app: DispatchApp,
    change,
    field: str,  # type: ignore[no-untyped-def]
) -> None:
    (request,) = requests(row("E21"))
    change(request)
    with pytest.raises(InvalidArgument, match=field.replace("[", r"\[").replace("]", r"\]")):
        app.import_history(import_command(request), ADMIN)
    assert app.store.max_position() == 0
