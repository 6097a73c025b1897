"""The incidents service's own rules, pure Python: commanders' notes (a stream of their own
per incident) and how a replay is paced and bounded.

Notes are recorded in the incidents service's store (stream ``notes-<incident>``) and
published like any other event, so they reach the incident log through Kafka and are
part of every replay.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from google.protobuf.message import Message

from emergency.v1 import events_pb2
from services.common.aggregate import Aggregate
from services.common.errors import InvalidArgument

NOTE_KINDS = ("SITUATION_REPORT", "DECISION", "OTHER")
# A paced replay holds one of the server's threads for the incident's length (scaled):
# past this many at once, more are refused rather than starving every other call.
MAX_PACED_REPLAYS = 8
MAX_SEARCH = 1000


class Source(enum.Enum):
    """Where an incident's events are read from."""

    STORE = "store"  # the incident log's own store
    KAFKA = "kafka"  # every service's topic, read again from the broker


def note_stream(incident_id: str) -> str:
    return f"notes-{incident_id}"


@dataclass(frozen=True, slots=True)
class AddNote:
    """A commander's entry in an incident's record."""

    request_id: str
    incident_id: str
    text: str
    kind: str = "OTHER"  # SITUATION_REPORT, DECISION, OTHER


@dataclass
class NoteStream(Aggregate):
    """An incident's notes: only the stream's version matters to an append."""

    version: int = 0

    @staticmethod
    def add(command: AddNote, note_id: str) -> list[Message]:
        """The note, or ``InvalidArgument`` naming what is wrong with it."""
        text = command.text.strip()
        kind = command.kind.strip().upper() or "OTHER"
        if not text:
            raise InvalidArgument("text is required: what is the situation or the decision?")
        if kind not in NOTE_KINDS:
            raise InvalidArgument(f"kind {kind!r} is not one of {', '.join(NOTE_KINDS)}")
        return [
            events_pb2.CommanderNoteAdded(
                incident_id=command.incident_id, note_id=note_id, kind=kind, text=text
            )
        ]

    def apply(self, event: Message) -> None:
        self.version += 1


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """How to replay an incident: paced by ``speed`` (1 is the original pacing, 10 ten
    times faster) or as fast as possible, within an optional window of instants (µs)."""

    speed: float = 1.0
    as_fast_as_possible: bool = False
    start_us: int | None = None
    end_us: int | None = None

    def __post_init__(self) -> None:
        if not self.as_fast_as_possible and not self.speed > 0:
            raise InvalidArgument(
                f"speed {self.speed:g} must be above 0 (1 is the original pacing), or ask "
                "for as_fast_as_possible"
            )
        if self.start_us is not None and self.end_us is not None and self.end_us < self.start_us:
            raise InvalidArgument("to is before from: the time range ends before it starts")

    def shows(self, at_us: int) -> bool:
        """Whether an event at ``at_us`` is inside the window (one before it still shapes
        the state the first frame shows)."""
        return self.start_us is None or at_us >= self.start_us

    def past_end(self, at_us: int) -> bool:
        return self.end_us is not None and at_us > self.end_us

    def due(self, first_wall: float, first_at_us: int, at_us: int) -> float:
        """The wall-clock time (monotonic seconds) the frame of an event at ``at_us`` is
        due, when the window's first frame went out at ``first_wall``."""
        return first_wall + (at_us - first_at_us) / 1e6 / self.speed


def check_search(
    limit: int,
    opened_from_us: int,
    opened_to_us: int,
    area: tuple[float, float, float, float] | None,
) -> None:
    """``InvalidArgument`` for a search that cannot be answered."""
    if limit > MAX_SEARCH:
        raise InvalidArgument(f"limit {limit} is above {MAX_SEARCH}")
    if opened_from_us and opened_to_us and opened_to_us < opened_from_us:
        raise InvalidArgument("opened_to is before opened_from: the range ends before it starts")
    if area is not None:
        south, west, north, east = area
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise InvalidArgument(
                "area: give south < north within -90..90 and west < east within -180..180"
            )
