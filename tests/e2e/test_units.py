"""The units service over real gRPC with the real broker and the demo jurisdiction."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from emergency.v1 import common_pb2, units_pb2
from services.common.config import DEMO_JURISDICTION
from tests.e2e.conftest import (
    ADMIN,
    CALL_TAKER,
    Clients,
    eventually,
    rid,
    share_one_stack_per_module,
)
from tools.stack import Stack

pytestmark = pytest.mark.e2e

stack, clients = share_one_stack_per_module()


S = common_pb2.UnitStatus
TEAM_VOL_03 = [("authorization", "Bearer demo-vol-03")]
COMMANDER = [("authorization", "Bearer demo-cmd-01")]


def code_of(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_the_demo_jurisdiction_puts_every_tier_on_one_board(clients: Clients) -> None:
    units = clients.units.ListUnits(units_pb2.ListUnitsRequest(), metadata=CALL_TAKER).units
    tiers = {u.profile.tier for u in units}
    assert len(units) >= 250
    assert tiers == {
        common_pb2.PROFESSIONAL,
        common_pb2.GOV_FULLTIME,
        common_pb2.VOLUNTEER,
        common_pb2.MICRO_STATION,
        common_pb2.CIVILIAN,
    }
    # every unit registered (other tests in this module move a few of them on)
    assert all(u.version >= 1 and u.profile.station_id for u in units)

    micro_near = clients.units.ListUnits(
        units_pb2.ListUnitsRequest(
            tiers=[common_pb2.MICRO_STATION],
            capabilities=["first_intervention"],
            near=units[0].profile.home,
            within_km=3,
        ),
        metadata=CALL_TAKER,
    ).units
    assert micro_near and all(u.profile.tier == common_pb2.MICRO_STATION for u in micro_near)


def test_loading_the_same_file_again_changes_nothing_and_a_bad_file_says_where(
    clients: Clients,
) -> None:
    text = Path(DEMO_JURISDICTION).read_text(encoding="utf-8")
    again = clients.units.LoadJurisdiction(
        units_pb2.LoadJurisdictionRequest(request_id=rid(), yaml=text, file_name="demo.yaml"),
        metadata=ADMIN,
    )
    assert (list(again.registered), list(again.updated), list(again.retired)) == ([], [], [])
    assert again.unchanged >= 250

    code, details = code_of(
        lambda: clients.units.LoadJurisdiction(
            units_pb2.LoadJurisdictionRequest(
                request_id=rid(),
                yaml=text.replace("tier: VOLUNTEER", "tier: VOLUNTER", 1),
                file_name="demo.yaml",
            ),
            metadata=ADMIN,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "demo.yaml:" in details and ".tier:" in details

    code, _ = code_of(
        lambda: clients.units.LoadJurisdiction(
            units_pb2.LoadJurisdictionRequest(request_id=rid(), yaml=text), metadata=CALL_TAKER
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_every_call_needs_a_known_token(clients: Clients) -> None:
    request = units_pb2.GetUnitRequest(unit_id="PRO-01-E1")
    assert code_of(lambda: clients.units.GetUnit(request))[0] == grpc.StatusCode.UNAUTHENTICATED
    code, details = code_of(
        lambda: clients.units.GetUnit(request, metadata=[("authorization", "Bearer stolen")])
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED and "unknown token" in details


def test_a_team_acts_on_its_own_units_only(clients: Clients) -> None:
    own = clients.units.ListUnits(units_pb2.ListUnitsRequest(), metadata=TEAM_VOL_03).units
    assert own and {u.profile.station_id for u in own} == {"VOL-03"}
    mine = own[0].profile.unit_id

    detail = clients.units.GetUnit(units_pb2.GetUnitRequest(unit_id=mine), metadata=TEAM_VOL_03)
    assert [e.event_type for e in detail.history] == ["UnitRegistered"]
    code, details = code_of(
        lambda: clients.units.GetUnit(
            units_pb2.GetUnitRequest(unit_id="PRO-01-E1"), metadata=TEAM_VOL_03
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED and "own units" in details
    code, _ = code_of(
        lambda: clients.units.ReserveUnit(
            units_pb2.ReserveUnitRequest(request_id=rid(), unit_id=mine, incident_id="i"),
            metadata=TEAM_VOL_03,
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_two_dispatchers_racing_for_one_unit_exactly_one_wins(clients: Clients) -> None:
    unit = clients.units.GetUnit(
        units_pb2.GetUnitRequest(unit_id="PRO-02-E1"), metadata=CALL_TAKER
    ).unit
    results: list[tuple[str, object]] = []
    barrier = threading.Barrier(2)

    def reserve(incident: str, who: list) -> None:  # type: ignore[type-arg]
        barrier.wait()
        try:
            won = clients.units.ReserveUnit(
                units_pb2.ReserveUnitRequest(
                    request_id=rid(),
                    unit_id="PRO-02-E1",
                    incident_id=incident,
                    expected_version=unit.version,
                ),
                metadata=who,
            )
            results.append(("won", won.incident_id))
        except grpc.RpcError as exc:
            results.append((exc.code().name, exc.details()))

    threads = [
        threading.Thread(target=reserve, args=("inc-A", CALL_TAKER)),
        threading.Thread(target=reserve, args=("inc-B", COMMANDER)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    outcomes = sorted(results, key=lambda r: r[0] != "won")
    assert outcomes[0][0] == "won" and len(outcomes) == 2
    loser_code, loser_message = outcomes[1]
    assert loser_code in ("ABORTED", "FAILED_PRECONDITION")
    assert "PRO-02-E1" in loser_message
    final = clients.units.GetUnit(
        units_pb2.GetUnitRequest(unit_id="PRO-02-E1"), metadata=CALL_TAKER
    ).unit
    assert (final.status, final.incident_id) == (S.Value("RESERVED"), outcomes[0][1])


def test_a_unit_runs_an_incident_and_its_events_reach_the_incident_log(
    stack: Stack, clients: Clients
) -> None:
    incident = clients.call(7).incident_id
    unit_id = "VOL-03-E1"

    def act(status: str, who: list = CALL_TAKER) -> units_pb2.Unit:  # type: ignore[type-arg]
        return clients.units.ChangeStatus(
            units_pb2.ChangeStatusRequest(
                request_id=rid(), unit_id=unit_id, status=S.Value(status)
            ),
            metadata=who,
        )

    reserve = units_pb2.ReserveUnitRequest(request_id=rid(), unit_id=unit_id, incident_id=incident)
    reserved = clients.units.ReserveUnit(reserve, metadata=CALL_TAKER)
    again = clients.units.ReserveUnit(reserve, metadata=CALL_TAKER)  # a retry: same answer
    assert again.version == reserved.version and again.incident_id == incident

    act("ALERTED")
    act("ACKNOWLEDGED", TEAM_VOL_03)  # the team itself
    act("EN_ROUTE", TEAM_VOL_03)
    code, details = code_of(lambda: act("RETURNING", TEAM_VOL_03))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "is EN_ROUTE" in details
    clients.units.ReportLocation(
        units_pb2.ReportLocationRequest(
            request_id=rid(),
            unit_id=unit_id,
            location=common_pb2.GeoPoint(latitude=28.24, longitude=112.4),
        ),
        metadata=TEAM_VOL_03,
    )
    act("ON_SCENE", TEAM_VOL_03)
    released = clients.units.ReleaseUnit(
        units_pb2.ReleaseUnitRequest(
            request_id=rid(), unit_id=unit_id, incident_id=incident, reason="fire out"
        ),
        metadata=CALL_TAKER,
    )
    assert (released.status, released.incident_id) == (S.Value("AVAILABLE"), "")

    wanted = [
        "CallReceived",
        "IncidentCreated",
        "UnitReserved",
        "UnitStatusChanged",
        "UnitStatusChanged",
        "UnitStatusChanged",
        "UnitLocationReported",
        "UnitStatusChanged",
        "UnitReleased",
    ]
    log = eventually(
        lambda: (lambda got: got if got == wanted else None)(clients.log_of(incident)),
        timeout=30,
        what="the unit's events in the incident log",
    )
    assert log == wanted


@pytest.mark.parametrize(
    ("request_", "code", "fragment"),
    [
        (units_pb2.GetUnitRequest(unit_id="NOPE-1"), grpc.StatusCode.NOT_FOUND, "NOPE-1"),
        (
            units_pb2.ReportLocationRequest(
                request_id="r",
                unit_id="PRO-01-E1",
                location=common_pb2.GeoPoint(latitude=95, longitude=1),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "latitude 95",
        ),
        (
            units_pb2.ReserveUnitRequest(request_id="r2", unit_id="PRO-01-E1", incident_id=""),
            grpc.StatusCode.INVALID_ARGUMENT,
            "incident_id is required",
        ),
        (
            units_pb2.ReleaseUnitRequest(request_id="r3", unit_id="PRO-01-E1"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "not on an incident",
        ),
        (units_pb2.ListUnitsRequest(within_km=5), grpc.StatusCode.INVALID_ARGUMENT, "near"),
    ],
)
def test_bad_requests_get_a_clear_status_and_write_nothing(
    clients: Clients, request_: object, code: grpc.StatusCode, fragment: str
) -> None:
    method = {
        "GetUnitRequest": clients.units.GetUnit,
        "ReportLocationRequest": clients.units.ReportLocation,
        "ReserveUnitRequest": clients.units.ReserveUnit,
        "ReleaseUnitRequest": clients.units.ReleaseUnit,
        "ListUnitsRequest": clients.units.ListUnits,
    }[type(request_).__name__]
    got, details = code_of(lambda: method(request_, metadata=ADMIN))
    assert got == code and fragment in details
    unit = clients.units.GetUnit(units_pb2.GetUnitRequest(unit_id="PRO-01-E1"), metadata=ADMIN)
    assert unit.unit.version == 1
