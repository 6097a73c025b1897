"""The domain's enums are the contract's: same names, same numbers."""

from __future__ import annotations

from enum import IntEnum

import pytest

from emergency.v1 import common_pb2
from services.common.enums import CallSource, Tier, UnitStatus


@pytest.mark.parametrize(
    ("ours", "contract"),
    [
        (CallSource, common_pb2.CallSource),
        (Tier, common_pb2.Tier),
        (UnitStatus, common_pb2.UnitStatus),
    ],
)
def test_each_enum_matches_the_protos(ours: type[IntEnum], contract: object) -> None:
    theirs = {v.name: v.number for v in contract.DESCRIPTOR.values}  # type: ignore[attr-defined]
    assert {member.name: member.value for member in ours} == theirs
