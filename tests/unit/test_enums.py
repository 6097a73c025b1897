"""The domain's enums are the contract's: same names, same numbers."""

from __future__ import annotations

from enum import IntEnum

import pytest

from emergency.v1 import common_pb2
from services.common.enums import CallSource, IncidentStatus, Tier, UnitStatus
from services.common.errors import InvalidArgument


@pytest.mark.parametrize(
    ("ours", "contract"),
    [
        (CallSource, common_pb2.CallSource),
        (Tier, common_pb2.Tier),
        (UnitStatus, common_pb2.UnitStatus),
        (IncidentStatus, common_pb2.IncidentStatus),
    ],
)
def test_each_enum_matches_the_protos(ours: type[IntEnum], contract: object) -> None:
    theirs = {v.number: v.name for v in contract.DESCRIPTOR.values}  # type: ignore[attr-defined]
    mine = {member.value: member.name for member in ours}
    # The zero value is "unset" on the wire; the domain may name what it means there
    # (an incident with no events has status NONE).
    assert mine.keys() == theirs.keys()
    assert {n: mine[n] for n in mine if n} == {n: theirs[n] for n in theirs if n}


def test_statuses_asked_for_by_number_are_the_domains() -> None:
    asked = IncidentStatus.named([common_pb2.OPEN, common_pb2.CLOSED, common_pb2.OPEN])
    assert asked == {IncidentStatus.OPEN, IncidentStatus.CLOSED}
    assert IncidentStatus.named([]) == frozenset()


@pytest.mark.parametrize("number", [0, 5, 99])
def test_a_status_the_contract_lacks_or_unset_is_refused_naming_the_known_ones(
    number: int,
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        IncidentStatus.named([common_pb2.OPEN, number])
    assert str(refused.value) == (
        f"unknown incident status [{number}]; "
        "use OPEN (1), UNDER_CONTROL (2), CLOSED (3), CANCELLED (4)"
    )
