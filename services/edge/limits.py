"""The console API's limits on what a request may carry, in one place.

The edge refuses a request outside these with a problem naming the field, before any
gRPC call, so nothing is written. They mirror what the services accept (and are meant
to be derived from the services' own table of limits once it exists, so the two cannot
drift apart): an id alphabet, text lengths, numeric ranges.
"""

from __future__ import annotations

# Ids of units, stations and operators (services/common/jurisdiction.py ``_ID``).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# Incident ids are UUIDs made by dispatch; any id-shaped text is passed on (NOT_FOUND).
INCIDENT_ID_PATTERN = ID_PATTERN
# An Idempotency-Key: a UUID made by the page, or any key of this alphabet.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$"
# A caller's number as shown by the phone system: digits, +, -, spaces, parentheses.
CALLER_NUMBER_PATTERN = r"^[0-9+()\- ]{3,32}$"


def optional(pattern: str) -> str:
    """``pattern`` (anchored with ^...$) or the empty string."""
    return f"^(|{pattern.removeprefix('^').removesuffix('$')})$"


MAX_USER_NAME = 64
MAX_PASSWORD = 256
MAX_ADDRESS = 300
MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
MAX_REASON = 500
MAX_NAME = 100
MAX_PICKS = 40  # units in one "dispatch the recommendation"

MAX_ALARM_LEVEL = 5  # services/dispatch/domain.py
MAX_UNITS_PER_REQUEST = 20  # services/dispatch/domain.py
LATITUDE = (-90.0, 90.0)
LONGITUDE = (-180.0, 180.0)

CALL_SOURCES = ("PHONE", "FIRE_ALARM_NETWORK", "SMART_SMOKE_DETECTOR", "TRANSFER")
CANCEL_REASONS = ("FALSE_ALARM", "HOAX", "HANDLED_ELSEWHERE", "OTHER")
NOTE_KINDS = ("SITUATION_REPORT", "DECISION", "OTHER")
# Statuses a person may put a unit in by hand (reserve and release have their own paths).
SETTABLE_STATUSES = (
    "ACKNOWLEDGED", "EN_ROUTE", "STAGING", "ON_SCENE", "RETURNING", "AVAILABLE",
    "OUT_OF_SERVICE",
)  # fmt: skip
