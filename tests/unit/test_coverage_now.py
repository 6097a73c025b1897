"""Coverage as dispatch serves it (``GetCoverage``): the SF grid, every engine in
quarters against those the units service says are free now; the districts that fall out
when engines are committed, and the move-up; the cells the map draws agree with the
share."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from emergency.v1 import dispatch_pb2
from services.analytics.coverage import build_grid, capable_units, cell_size_for, commitment_impact
from services.common.errors import InvalidArgument
from services.common.eventstore import EventStore
from services.common.geo import Point
from services.common.jurisdiction import Jurisdiction, load_jurisdiction
from services.dispatch.api import DispatchServicer
from services.dispatch.app import DispatchApp
from services.dispatch.travel import travel_for
from tests.support.units_port import InMemoryUnits

SF = "services/config/jurisdiction/san-francisco.yaml"
COMMITTED = {"E21", "E10", "E05", "E12", "E31"}


@pytest.fixture(scope="module")
def sf() -> Jurisdiction:
    return load_jurisdiction(SF)


@pytest.fixture(scope="module")
def app(sf: Jurisdiction) -> DispatchApp:
    units = InMemoryUnits()
    for station, unit in sf.units():
        if unit.id not in COMMITTED:
            units.add(
                unit.id,
                station.tier.value,
                set(unit.capabilities),
                Point(*station.location),
                sf.policy(station).turnout_seconds,
            )
    app = DispatchApp(EventStore.in_memory(), units, travel=travel_for(sf), jurisdiction=sf)
    return app


def test_a_city_keeps_250_m_cells_and_a_region_gets_coarser_ones(sf: Jurisdiction) -> None:
    assert cell_size_for(sf) == 250
    assert cell_size_for(load_jurisdiction("services/config/jurisdiction/demo-city.yaml")) > 250


def test_coverage_now_is_the_analysis_with_the_units_free_now(
    app: DispatchApp, sf: Jurisdiction
) -> None:
    impact, capable, committed = app.coverage_now("", "Bearer x")
    assert committed == COMMITTED and len(capable) == 44
    grid = build_grid(sf, travel_for(sf), 250)
    expected = commitment_impact(grid, np.ones(len(grid)), capable_units(sf, "engine"), COMMITTED)
    assert impact.before == expected.before and impact.after == expected.after
    assert impact.after.share is not None and impact.before.share is not None
    assert impact.after.share < impact.before.share
    assert {d.district for d in impact.fallen} >= {"SF-10", "SF-21"}
    assert impact.move_up is not None and impact.move_up.after > impact.move_up.before


class _Context:
    def abort(self, code: grpc.StatusCode, details: str) -> None:  # pragma: no cover
        raise AssertionError(details)


def test_the_reply_carries_the_cells_the_map_draws(app: DispatchApp) -> None:
    from services.common import auth

    token = auth._authorization.set("Bearer x")
    try:
        reply = DispatchServicer(app).GetCoverage(dispatch_pb2.GetCoverageRequest(), _Context())  # type: ignore[arg-type]
    finally:
        auth._authorization.reset(token)
    assert reply.capability == "engine" and reply.limit_seconds == 300
    assert len(reply.latitudes) == len(reply.longitudes) == len(reply.covered) > 1000
    assert sum(reply.covered) / len(reply.covered) == pytest.approx(reply.share_now)
    assert reply.available_units == 39 and set(reply.committed_unit_ids) == COMMITTED
    assert reply.HasField("move_up") and reply.move_up.to_station.startswith("SF-")


def test_an_unknown_capability_is_refused_by_name(app: DispatchApp) -> None:
    with pytest.raises(InvalidArgument, match="capability 'dragon'"):
        app.coverage_now("dragon", "Bearer x")
