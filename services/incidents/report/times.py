"""Times of day and durations as the report shows them, in the jurisdiction's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(us: int) -> str | None:
    """An instant as ISO 8601 in UTC (``2026-12-01T00:31:41.210Z``); None for 0."""
    if not us:
        return None
    instant = EPOCH + timedelta(microseconds=us)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment(us: int, zone: tzinfo) -> datetime:
    return (EPOCH + timedelta(microseconds=us)).astimezone(zone)


def clock(us: int, zone: tzinfo) -> str:
    """24-hour time of day in ``zone``."""
    return moment(us, zone).strftime("%H:%M:%S") if us else "-"


def zone_label(zone: tzinfo, us: int) -> str:
    """``Asia/Shanghai (UTC+08:00)``: the zone's name and its offset at that instant."""
    offset = moment(us, zone).strftime("%z")
    name = getattr(zone, "key", None) or moment(us, zone).tzname() or "UTC"
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if abs(seconds) < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def when(us: int, zone: tzinfo) -> str:
    """Date and 24-hour time in ``zone``, with its offset."""
    return moment(us, zone).strftime("%Y-%m-%d %H:%M:%S %z") if us else "-"
