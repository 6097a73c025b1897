"""``uc history import`` against a running stack on the San Francisco jurisdiction: a slice
of the real CAD export (with bad rows added) goes into the record at its original times;
bad rows are named and left out; a second import adds nothing; nobody is alerted; the
incident log, its Kafka replay and the after-action report read the imported incidents
like any other."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest

from emergency.v1 import common_pb2, dispatch_pb2, events_pb2, incidents_pb2, units_pb2
from services.analytics.agreement import Ranking, measure
from services.analytics.cad import load_mapping, read_cad
from services.analytics.period import period_report
from services.analytics.period_page import period_json, period_range
from services.common.config import CONFIG_DIR
from services.common.envelope import micros, timestamp
from services.common.jurisdiction import load_jurisdiction
from services.dispatch.history import historical_incident_id
from services.dispatch.travel import travel_for
from tests.e2e.conftest import ADMIN, Clients, eventually, running_stack
from tools.stack import Stack

SF_CALLS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "sf"
    / ("calls-lone-mountain-2009-2019.csv")
)
SF_JURISDICTION = CONFIG_DIR / "jurisdiction" / "san-francisco.yaml"
ZONE = ZoneInfo("America/Los_Angeles")
VIEWER = [("authorization", "Bearer demo-sup-01")]
ROWS = 60  # the first rows of the export: about 15 incidents of 2009
pytestmark = pytest.mark.skipif(not SF_CALLS.exists(), reason="../shared/data/sf is not here")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"UC_JURISDICTION_FILE": str(SF_JURISDICTION)}
    with running_stack(tmp_path_factory.mktemp("sf") / "var", env) as running:
        yield running


@pytest.fixture(scope="module")
def clients(stack: Stack) -> Iterator[Clients]:
    clients = Clients(stack)
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def slice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export's first rows, then four bad ones (each a copy of a good row of a new
    incident with one thing wrong)."""
    with SF_CALLS.open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        header = list(reader.fieldnames or [])
        rows = [next(reader) for _ in range(ROWS)]
    template = rows[0]

    def bad(n: int, **changes: str) -> dict[str, str]:
        return {**template, "Incident Number": f"9900000{n}", **changes}

    bad_rows = [
        bad(1, Location=""),  # no location
        bad(2, **{"On Scene DtTm": "01/10/2009 02:38:00 PM"}),  # on scene before en route
        bad(3, **{"Unit ID": "E99"}),  # a unit San Francisco does not have
        bad(4, **{"Dispatch DtTm": "10/01/2009 25:61:00"}),  # not a time
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows + bad_rows)
    path = tmp_path_factory.mktemp("calls") / "sf-slice.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def uc(stack: Stack, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**stack.service_env(), "UC_TOKEN": token, "TZ": "UTC"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected(slice_file: Path):  # type: ignore[no-untyped-def]
    units = {u.id: s.id for s, u in load_jurisdiction(SF_JURISDICTION).units()}
    return read_cad(slice_file.read_text(encoding="utf-8"), load_mapping(), units)


def test_an_import_needs_an_administrator(stack: Stack, slice_file: Path) -> None:
    done = uc(stack, "demo-ct-01", "history", "import", str(slice_file))
    assert done.returncode == 1
    assert "PERMISSION_DENIED" in done.stderr and "ImportHistoricalIncident" in done.stderr


def test_the_slice_goes_into_the_record_once(
    stack: Stack, clients: Clients, slice_file: Path
) -> None:
    found = expected(slice_file)
    n = len(found.incidents)
    assert n >= 10 and len(found.problems) == 4

    done = uc(stack, "demo-admin-01", "history", "import", str(slice_file))
    assert done.returncode == 0, done.stderr
    assert f"{n} incidents imported, 0 already in the record, 0 refused; 4 bad row(s)" in (
        done.stdout
    )
    # each bad row named by its line in the file and why
    for line, reason in (
        (ROWS + 2, "no location"),
        (ROWS + 3, "before"),
        (ROWS + 4, "E99"),
        (ROWS + 5, "Dispatch DtTm"),
    ):
        assert any(f":{line}:" in e and reason in e for e in done.stderr.splitlines()), (
            line,
            reason,
            done.stderr,
        )

    again = uc(stack, "demo-admin-01", "history", "import", str(slice_file))
    assert again.returncode == 0, again.stderr
    assert f"0 incidents imported, {n} already in the record" in again.stdout

    # the record has each incident, closed, opened when the call came in
    def closed() -> list[incidents_pb2.IncidentSummary] | None:
        reply = clients.incidents.SearchIncidents(
            incidents_pb2.SearchIncidentsRequest(statuses=[common_pb2.CLOSED], limit=1000),
            metadata=ADMIN,
            timeout=30,
        )
        return list(reply.incidents) if len(reply.incidents) == n else None

    board = eventually(closed, timeout=60, what=f"{n} imported incidents in the record")
    ids = {historical_incident_id("sf-calls-for-service", i.incident_id) for i in found.incidents}
    assert {s.incident_id for s in board} == ids
    opened = {s.incident_id: micros(s.opened_at) for s in board}
    for incident in found.incidents:
        assert opened[historical_incident_id("sf-calls-for-service", incident.incident_id)] == (
            incident.received_us
        )

    # one incident's log: original times, the import's actor, from the store and Kafka
    first = found.incidents[0]
    incident_id = historical_incident_id("sf-calls-for-service", first.incident_id)
    log = clients.incidents.GetIncidentLog(
        incidents_pb2.GetIncidentLogRequest(incident_id=incident_id), metadata=ADMIN, timeout=30
    )
    assert log.entries[0].event_type in ("IncidentImported", "CallReceived", "IncidentCreated")
    assert micros(log.entries[0].occurred_at) == first.received_us
    assert {(e.actor.kind, e.actor.id) for e in log.entries} == {
        (events_pb2.Actor.SYSTEM, "import:sf-slice.csv")
    }
    from_kafka = clients.incidents.GetIncidentLog(
        incidents_pb2.GetIncidentLogRequest(incident_id=incident_id, source=incidents_pb2.KAFKA),
        metadata=ADMIN,
        timeout=30,
    )
    assert [e.event_id for e in from_kafka.entries] == [e.event_id for e in log.entries]
    report = clients.incidents.GetReport(
        incidents_pb2.GetReportRequest(incident_id=incident_id), metadata=ADMIN, timeout=30
    )
    assert first.units[0].unit_id in report.html and "America/Los_Angeles" in report.html

    # history: not on dispatch's board, nobody alerted, every unit still in quarters
    listed = clients.dispatch.ListIncidents(
        dispatch_pb2.ListIncidentsRequest(
            statuses=[s for s in common_pb2.IncidentStatus.values() if s]
        ),
        metadata=ADMIN,
        timeout=30,
    )
    assert not ids & {i.incident_id for i in listed.incidents}
    units = clients.units.ListUnits(units_pb2.ListUnitsRequest(), metadata=ADMIN, timeout=30)
    assert units.units and {u.status for u in units.units} == {common_pb2.AVAILABLE}


def test_the_period_report_from_the_record_equals_the_csv_s(
    stack: Stack, clients: Clients, slice_file: Path, tmp_path: Path
) -> None:
    found = expected(slice_file)
    done = uc(stack, "demo-admin-01", "history", "import", str(slice_file))  # or again
    assert done.returncode == 0, done.stderr

    def record_has_all() -> incidents_pb2.PeriodReport | None:
        reply = clients.incidents.GetPeriodReport(
            incidents_pb2.GetPeriodReportRequest(
                period_from=timestamp(start), period_to=timestamp(end)
            ),
            metadata=VIEWER,
            timeout=60,  # the charts are drawn on a machine other tests share
        )
        # every incident whole: the last event of each (IncidentClosed) has arrived
        closed = json.loads(reply.json)["overall"]["incidents"] == len(found.incidents)
        return reply if closed and reply.incidents == len(found.incidents) else None

    start, end = period_range("2009-01-01", "2019-12-31", ZONE)
    eventually(record_has_all, timeout=180, what="the slice in the record")
    # the figures once every event of every incident is in the log
    time.sleep(2)
    reply = record_has_all()
    assert reply is not None and reply.time_zone == "America/Los_Angeles"
    from_csv = period_report(found.incidents, start, end, ZONE)
    assert reply.json == period_json(from_csv)
    assert "<svg" in reply.html and "OpenStreetMap" in reply.html

    # the command line writes the same files from the record
    out = tmp_path / "record"
    done = uc(
        stack,
        "demo-cmd-01",
        "report",
        "period",
        "--from",
        "2009-01-01",
        "--to",
        "2019-12-31",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert Path(f"{out}.json").read_text(encoding="utf-8") == period_json(from_csv)
    assert f"{len(found.incidents)} incidents (from the record)" in done.stderr

    # one district; an empty period; a period that ends before it begins
    district = found.incidents[0].station_area
    one = clients.incidents.GetPeriodReport(
        incidents_pb2.GetPeriodReportRequest(
            period_from=timestamp(start), period_to=timestamp(end), district=district
        ),
        metadata=VIEWER,
        timeout=60,
    )
    assert one.json == period_json(period_report(found.incidents, start, end, ZONE, district))
    empty = clients.incidents.GetPeriodReport(
        incidents_pb2.GetPeriodReportRequest(
            period_from=timestamp(end), period_to=timestamp(end + 86_400_000_000)
        ),
        metadata=VIEWER,
        timeout=60,
    )
    assert empty.incidents == 0 and json.loads(empty.json)["overall"]["incidents"] == 0
    with pytest.raises(grpc.RpcError) as refused:
        clients.incidents.GetPeriodReport(
            incidents_pb2.GetPeriodReportRequest(
                period_from=timestamp(end), period_to=timestamp(start)
            ),
            metadata=VIEWER,
            timeout=60,  # the charts are drawn on a machine other tests share
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "period_to" in (refused.value.details() or "")


def test_history_played_as_new_calls_measures_the_recommendation(stack: Stack) -> None:
    """Every fire of 2016-2019 with an engine on scene, as a new call: the running system's
    first engine agrees with the real first engine's station exactly as often as the
    offline replay of the same ranking (the jurisdiction's calibrated travel and station
    turnouts, every unit in quarters) says it should."""
    sf = load_jurisdiction(SF_JURISDICTION)
    units = {u.id: s.id for s, u in sf.units()}
    found = read_cad(SF_CALLS.read_text(encoding="utf-8"), load_mapping(), units)
    offline = measure(
        found.incidents, sf, [Ranking("jurisdiction", travel_for(sf))], range(2016, 2020)
    )
    system, plan = offline.outcomes
    done = uc(stack, "demo-ct-01", "generate", "--from-history", str(SF_CALLS))
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{system.n} historical calls of 2016-2019 played as new calls")
    assert f"{system.agreed:>4}/{system.n:<4}" in lines[2], (lines[2], system)
    assert f"{plan.agreed:>4}/{plan.n:<4}" in lines[3], (lines[3], plan)
    # nobody was sent: every call was cancelled once measured
    clients = Clients(stack)
    try:
        active = clients.dispatch.ListIncidents(
            dispatch_pb2.ListIncidentsRequest(), metadata=ADMIN, timeout=30
        )
        assert not active.incidents
    finally:
        clients.close()
