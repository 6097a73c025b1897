"""Bounds on everything a client may send, declared once and checked on every gRPC call
before it reaches a servicer; the HTTP edge builds its request models from the same
table (``field_constraints``). A request that breaks one is refused with
``InvalidArgument`` naming the field and the limit, and nothing is written.

- **Identifiers** (unit, incident, alert, team, commander and request ids): letters,
  digits and ``. _ : -``, starting with a letter or digit; 64 characters at most (128 for
  request ids, which clients may suffix: ``<uuid>:<unit id>``).
- **Text** (addresses, descriptions, reasons, notes, names): a length in characters, no
  control characters (line breaks and tabs only where the field is multi-line).
- **Numbers**: a closed range for every integer and real a client sets; reals must be
  finite (no NaN, no infinity); coordinates within -90..90 and -180..180.
- **Enums**: a number the contract defines (a tier of 99 is refused, not stored).
- **Lists**: at most ``MAX_ITEMS`` entries unless the field says otherwise.
- **Timestamps**: within protobuf's range (years 1 to 9999), nanos below a second.

Rules are keyed by field name, which the protos use consistently (every ``unit_id`` is
a unit id); a message's own rule (``UnitProfile.name``) wins over the plain name's. A
unit test keeps every string and number field of every request covered, so a new field
cannot go unbounded by accident.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.common.errors import InvalidArgument

ID_ALPHABET = "letters, digits and . _ : - (starting with a letter or digit)"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
_ID = re.compile(ID_PATTERN)
MAX_ITEMS = 100
# protobuf's Timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


@dataclass(frozen=True, slots=True)
class Identifier:
    max_chars: int = 64

    def check(self, path: str, value: str) -> None:
        if len(value) > self.max_chars:
            raise InvalidArgument(
                f"{path} is {len(value)} characters long; at most {self.max_chars}"
            )
        if not _ID.match(value):
            raise InvalidArgument(f"{path} {_shown(value)} is not an id: use {ID_ALPHABET}")


@dataclass(frozen=True, slots=True)
class Text:
    max_chars: int
    multiline: bool = False

    def check(self, path: str, value: str) -> None:
        if len(value) > self.max_chars:
            raise InvalidArgument(
                f"{path} is {len(value)} characters long; at most {self.max_chars}"
            )
        allowed = "\n\r\t" if self.multiline else ""
        for char in value:
            if unicodedata.category(char) == "Cc" and char not in allowed:
                raise InvalidArgument(
                    f"{path} holds the control character U+{ord(char):04X}; "
                    + (
                        "only line breaks and tabs are allowed"
                        if self.multiline
                        else "give it on one line, as plain text"
                    )
                )


@dataclass(frozen=True, slots=True)
class Whole:
    low: int
    high: int

    def check(self, path: str, value: int) -> None:
        if not self.low <= value <= self.high:
            raise InvalidArgument(f"{path} {value} is outside {self.low}..{self.high}")


@dataclass(frozen=True, slots=True)
class Real:
    low: float
    high: float

    def check(self, path: str, value: float) -> None:
        if not math.isfinite(value):
            raise InvalidArgument(f"{path} must be a finite number, not {value}")
        if not self.low <= value <= self.high:
            raise InvalidArgument(f"{path} {value:g} is outside {self.low:g}..{self.high:g}")


Rule = Identifier | Text | Whole | Real

ID = Identifier()
LINE = Text(500)
NAME = Text(100)
NOTE = Text(2000, multiline=True)

REQUEST_ID = Identifier(128)

# By field name; "Message.field" entries win over the plain name.
FIELDS: dict[str, Rule] = {
    # identifiers
    "request_id": REQUEST_ID,
    "incident_id": ID,
    "link_to_incident_id": ID,
    "unit_id": ID,
    "alert_id": ID,
    "team_id": ID,
    "station_id": ID,
    "commander_id": ID,
    "to_commander_id": ID,
    "incident_type": ID,
    "incident_types": ID,
    "capability": Identifier(32),
    "resource_request_id": Identifier(32),
    "capabilities": Identifier(32),
    "statuses": Identifier(32),
    "kind": Identifier(32),
    # text
    "caller_number": Text(40),
    "address": Text(300),
    "description": NOTE,
    "reason": LINE,
    "note": NOTE,
    "text": Text(4000, multiline=True),
    "commander_name": NAME,
    "to_commander_name": NAME,
    "district": NAME,
    "file_name": Text(200),
    # a CAD export's own names (imported history)
    "source": Identifier(64),
    "source_incident_id": ID,
    "call_number": ID,
    "source_incident_type": NAME,
    "unit_type": NAME,
    "yaml": Text(4_000_000, multiline=True),
    "UnitProfile.name": NAME,
    "UnitProfile.station_name": NAME,
    # whole numbers
    "alarm_level": Whole(0, 5),
    "count": Whole(0, 20),
    "limit": Whole(0, 1000),
    "history": Whole(0, 1000),
    "responders": Whole(0, 1000),
    "eta_seconds": Whole(0, 86_400),
    "expected_version": Whole(0, 2**53),
    "UnitProfile.staffing": Whole(0, 10_000),
    "UnitProfile.min_responders": Whole(0, 1000),
    "UnitProfile.turnout_seconds": Whole(0, 3600),
    "UnitProfile.ack_deadline_seconds": Whole(0, 3600),
    # reals
    "within_km": Real(0, 1000),
    "speed": Real(0, 100_000),
    "UnitProfile.area_radius_km": Real(0, 200),
    "GeoPoint.latitude": Real(-90, 90),
    "GeoPoint.longitude": Real(-180, 180),
    "Area.south": Real(-90, 90),
    "Area.north": Real(-90, 90),
    "Area.west": Real(-180, 180),
    "Area.east": Real(-180, 180),
}
# Lists allowed more than MAX_ITEMS entries (none yet) or fewer.
MAX_ITEMS_OF: dict[str, int] = {"statuses": 10, "capabilities": 20}
_CHECKED_TYPES = (
    FieldDescriptor.TYPE_STRING,
    FieldDescriptor.TYPE_DOUBLE,
    FieldDescriptor.TYPE_FLOAT,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
)


def rule_for(message: Any, field: FieldDescriptor) -> Rule | None:
    """The rule for ``field`` of the message ``message`` describes."""
    return FIELDS.get(f"{message.name}.{field.name}") or FIELDS.get(field.name)


def check_request(message: Message, path: str = "") -> None:
    """Refuse (``InvalidArgument``) the first field of ``message`` that breaks a limit."""
    descriptor = message.DESCRIPTOR
    if descriptor.full_name == "google.protobuf.Timestamp":
        _check_timestamp(message, path.rstrip("."))
        return
    for field, value in message.ListFields():
        where = f"{path}{field.name}"
        if field.is_repeated:
            most = MAX_ITEMS_OF.get(field.name, MAX_ITEMS)
            if len(value) > most:
                raise InvalidArgument(f"{where} has {len(value)} entries; at most {most}")
            for index, item in enumerate(value):
                _check_value(descriptor, field, f"{where}[{index}]", item)
        else:
            _check_value(descriptor, field, where, value)


def _check_value(message: Any, field: FieldDescriptor, path: str, value: Any) -> None:
    """``message``: the field's message descriptor (a C or a Python one)."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        check_request(value, f"{path}.")
    elif field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None, "an enum field has its enum"
        if enum.values_by_number.get(value) is None:
            names = ", ".join(v.name for v in enum.values if v.number)
            raise InvalidArgument(f"{path} {value} is not a {enum.name}; use one of {names}")
    elif field.type in _CHECKED_TYPES:
        rule = rule_for(message, field)
        if rule is None:
            # Every field a client sends has a rule (a unit test holds it); a float left
            # out is still refused when it is not finite.
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidArgument(f"{path} must be a finite number, not {value}")
            return
        rule.check(path, value)


def _check_timestamp(stamp: Any, path: str) -> None:
    if not _MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS or not 0 <= stamp.nanos < 10**9:
        raise InvalidArgument(
            f"{path} is not a valid instant: give one between the years 1 and 9999"
        )


def field_constraints(name: str) -> dict[str, Any]:
    """The rule for ``name`` as keyword arguments of a pydantic ``Field`` (``max_length``,
    ``pattern``, ``ge``, ``le``), so the HTTP edge states the same limits in its models
    and its OpenAPI document."""
    rule = FIELDS[name]
    if isinstance(rule, Identifier):
        return {"max_length": rule.max_chars, "pattern": ID_PATTERN}
    if isinstance(rule, Text):
        return {"max_length": rule.max_chars}
    # strict: JSON's true is not the number 1, nor "3" the number 3
    return {"ge": rule.low, "le": rule.high, "strict": True}


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")
