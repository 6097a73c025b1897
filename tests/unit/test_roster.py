"""Jurisdiction file -> registry changes, and the credential book built from it."""

from __future__ import annotations

import pytest

from emergency.v1 import common_pb2
from services.common.auth import CredentialBook
from services.common.errors import Unauthenticated
from services.common.jurisdiction import JurisdictionError, Role, parse_jurisdiction, token_hash
from services.units.domain import Unit
from services.units.roster import plan_roster, profiles_from

FILE = f"""
jurisdiction:
  name: Test City
  time_zone: Asia/Shanghai
  bounds: {{south: 27.8, west: 112.5, north: 28.6, east: 113.4}}
tiers:
  VOLUNTEER: {{turnout_seconds: 240, ack_deadline_seconds: 90, auto_acknowledge: false}}
operators:
  - {{id: ct-01, name: Call taker, role: CALL_TAKER, token_sha256: {token_hash("t-ct")}}}
stations:
  - id: PRO-01
    name: Furong Station
    tier: PROFESSIONAL
    location: [28.19, 112.98]
    units:
      - {{id: PRO-01-E1, name: Engine 1, capabilities: [engine]}}
      - {{id: PRO-01-L1, name: Ladder 1, capabilities: [aerial]}}
  - id: VOL-01
    name: Shuangjiang Volunteers
    tier: VOLUNTEER
    location: [28.25, 112.60]
    staffing: 12
    min_responders: 4
    ack_deadline_seconds: 150
    credentials:
      - {{name: duty-phone, token_sha256: {token_hash("t-vol")}}}
    units:
      - {{id: VOL-01-E1, name: Light engine, capabilities: [engine, first_intervention]}}
"""


def registry(text: str = FILE) -> list[Unit]:
    changes = plan_roster([], profiles_from(parse_jurisdiction(text)))
    return [Unit.from_events(events) for _, events in changes.events.values()]


def test_a_first_load_registers_every_unit_with_its_station_policy() -> None:
    changes = plan_roster([], profiles_from(parse_jurisdiction(FILE)))
    assert sorted(changes.registered) == ["PRO-01-E1", "PRO-01-L1", "VOL-01-E1"]
    vol = profiles_from(parse_jurisdiction(FILE))["VOL-01-E1"]
    # tier default from the file (240 s), station override (150 s) over the tier's 90 s
    assert (vol.turnout_seconds, vol.ack_deadline_seconds, vol.auto_acknowledge) == (
        240,
        150,
        False,
    )
    assert (vol.min_responders, vol.tier) == (4, common_pb2.VOLUNTEER)


def test_loading_the_same_file_again_changes_nothing() -> None:
    changes = plan_roster(registry(), profiles_from(parse_jurisdiction(FILE)))
    assert (changes.events, changes.unchanged) == ({}, 3)


def test_a_changed_file_changes_only_what_changed() -> None:
    edited = FILE.replace("name: Ladder 1", "name: Aerial ladder 1").replace(
        "      - {id: PRO-01-E1, name: Engine 1, capabilities: [engine]}\n", ""
    )
    changes = plan_roster(registry(), profiles_from(parse_jurisdiction(edited)))
    assert (changes.updated, changes.retired, changes.unchanged) == (
        ["PRO-01-L1"],
        ["PRO-01-E1"],
        1,
    )


def test_a_unit_on_an_incident_is_kept_when_the_file_drops_it() -> None:
    units = registry()
    engine = next(u for u in units if u.unit_id == "PRO-01-E1")
    for event in engine.reserve("inc-1"):
        engine.apply(event)
    dropped = FILE.replace("      - {id: PRO-01-E1, name: Engine 1, capabilities: [engine]}\n", "")
    changes = plan_roster(units, profiles_from(parse_jurisdiction(dropped)))
    assert (changes.retired, changes.kept_busy) == ([], ["PRO-01-E1"])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("tier: VOLUNTEER\n", "tier: VOLUNTER\n"),
            "city.yaml:20: stations[1].tier: Input should be",
        ),
        (("[28.25, 112.60]", "[29.25, 112.60]"), "stations[1] (VOL-01): location"),
        (("min_responders: 4", "min_responders: 40"), "more than staffing 12"),
        (("name: Light engine", "name: Light engine, wheels: 4"), "wheels: Extra inputs"),
        (("id: PRO-01-L1", "id: PRO-01-E1"), "unit id 'PRO-01-E1' is used twice"),
        (("bounds: {", "bounds: {{"), "not valid YAML"),
        (("time_zone: Asia/Shanghai", "time_zone: China/Beijing"), "unknown time zone"),
        (("  time_zone: Asia/Shanghai\n", ""), "jurisdiction.time_zone: Field required"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line_and_the_field(
    edit: tuple[str, str], expected: str
) -> None:
    with pytest.raises(JurisdictionError, match=None) as info:
        parse_jurisdiction(FILE.replace(*edit), "city.yaml")
    assert expected in str(info.value) and str(info.value).startswith("city.yaml")


def test_tokens_map_to_operators_and_teams() -> None:
    book = CredentialBook.from_jurisdiction(parse_jurisdiction(FILE))
    assert book.authenticate("Bearer t-ct").role is Role.CALL_TAKER
    team = book.authenticate("bearer t-vol")
    assert (team.role, team.team_id, team.actor) == (Role.TEAM, "VOL-01", "TEAM:VOL-01:duty-phone")
    for header, message in [
        ("", "missing credentials"),
        ("Basic t-ct", "missing"),
        ("Bearer nope", "unknown token"),
    ]:
        with pytest.raises(Unauthenticated, match=message):
            book.authenticate(header)
