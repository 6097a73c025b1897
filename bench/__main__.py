"""Run the benchmarks: ``make bench`` (every suite) or ``python -m bench SUITE ...``.

Prints one JSON document to stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import structlog

from bench import alerts, clients, console, eventstore, intake, recommend, replay

SUITES: dict[str, Callable[[], dict[str, Any]]] = {
    "eventstore": eventstore.run,
    "alerts": alerts.run,
    "recommend": recommend.run,
    "intake": intake.run,
    "replay": replay.run,
    "console": console.run,
    "clients": clients.run,
}


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in ("SQLAlchemy", "psycopg", "eventsourcing")},
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        print(
            f"unknown suite(s): {', '.join(unknown)}; choose from {', '.join(SUITES)}",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)  # topic setup chatter
    # The stack's own messages (broker started, ...) are progress too: keep stdout JSON only.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    started = time.perf_counter()
    result: dict[str, Any] = {
        "command": "make bench" if not argv else f"python -m bench {' '.join(argv)}",
        "machine": machine(),
        "suites": {name: SUITES[name]() for name in names},
    }
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
