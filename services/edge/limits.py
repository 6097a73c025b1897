"""The console API's limits on what a request may carry, taken from the services' own
table (``services/common/limits.py``) and the domain's rules, so the two cannot drift
apart. The edge refuses a request outside them with a problem naming the field, before
any gRPC call, so nothing is written; the services check the same limits again."""

from __future__ import annotations

from services.common import limits
from services.common.enums import CallSource, UnitStatus
from services.common.limits import Identifier, Text
from services.dispatch.domain import MAX_ALARM_LEVEL, MAX_UNITS_PER_REQUEST, CancelReason
from services.incidents.domain import NOTE_KINDS
from services.units.domain import STATUS_MOVES


def _text(name: str) -> int:
    rule = limits.FIELDS[name]
    assert isinstance(rule, Text | Identifier)
    return rule.max_chars


def _id_pattern(max_chars: int, min_chars: int = 1) -> str:
    """The services' id alphabet (``limits.ID_PATTERN``) with a length."""
    return rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{{min_chars - 1},{max_chars - 1}}}$"


# Ids of units, stations, operators and incidents.
ID_PATTERN = _id_pattern(_text("unit_id"))
INCIDENT_ID_PATTERN = _id_pattern(_text("incident_id"))
# An Idempotency-Key: a UUID made by the page, or any key of the request-id alphabet
# (at least 8 characters: a key a person types by hand would collide).
IDEMPOTENCY_KEY_PATTERN = _id_pattern(_text("request_id"), min_chars=8)
# A caller's number as shown by the phone system: digits, +, -, spaces, parentheses.
CALLER_NUMBER_PATTERN = rf"^[0-9+()\- ]{{3,{min(32, _text('caller_number'))}}}$"


def optional(pattern: str) -> str:
    """``pattern`` (anchored with ^...$) or the empty string."""
    return f"^(|{pattern.removeprefix('^').removesuffix('$')})$"


MAX_USER_NAME = 64
MAX_PASSWORD = 256
MAX_ADDRESS = _text("address")
MAX_DESCRIPTION = _text("description")
MAX_NOTE = _text("note")
MAX_NOTE_TEXT = _text("text")  # a commander's note in the record
MAX_REASON = _text("reason")
MAX_NAME = _text("commander_name")
MAX_PICKS = 40  # units in one "dispatch the recommendation"

LATITUDE = (-90.0, 90.0)
LONGITUDE = (-180.0, 180.0)

CALL_SOURCES = tuple(s.name for s in CallSource if s is not CallSource.CALL_SOURCE_UNSPECIFIED)
CANCEL_REASONS = tuple(v.name for v in CancelReason.DESCRIPTOR.values if v.number)
# Statuses a person may put a unit in by hand, in the order of a unit's work: any move
# the units' rules allow, but ALERTED, which only an alert does (reserve and release
# have their own paths).
SETTABLE_STATUSES = tuple(
    s.name
    for s in sorted({s for moves in STATUS_MOVES.values() for s in moves})
    if s is not UnitStatus.ALERTED
)

__all__ = [
    "CALLER_NUMBER_PATTERN",
    "CALL_SOURCES",
    "CANCEL_REASONS",
    "IDEMPOTENCY_KEY_PATTERN",
    "ID_PATTERN",
    "INCIDENT_ID_PATTERN",
    "LATITUDE",
    "LONGITUDE",
    "MAX_ALARM_LEVEL",
    "MAX_UNITS_PER_REQUEST",
    "NOTE_KINDS",
    "SETTABLE_STATUSES",
]
