"""``python -m services.edge``: the HTTP/JSON edge and the dispatch console (default port
8080, ``UC_EDGE_PORT``).

The console acts for its logged-in staff with the edge's own credential, an operator of
role GATEWAY in the jurisdiction file (``UC_EDGE_TOKEN``; the demo city's is
``demo-svc-edge``), and folds the event topics for its live board
(``KAFKA_BOOTSTRAP_SERVERS``). Sessions live in the edge's own store (``sessions.py``).
"""

from __future__ import annotations

import os

import uvicorn

from services.common.config import DEFAULT_PORTS, jurisdiction_file
from services.common.jurisdiction import load_jurisdiction
from services.common.logging import configure_logging
from services.edge.app import create_app
from services.edge.console_api import ConsoleSettings
from services.edge.live import LiveBoard
from services.edge.sessions import SessionStore

DEMO_EDGE_TOKEN = "demo-svc-edge"  # the demo city's; a real jurisdiction has its own


def address(service: str) -> str:
    host = os.environ.get(f"UC_{service.upper()}_HOST", "127.0.0.1")
    return f"{host}:{os.environ.get(f'UC_{service.upper()}_PORT', str(DEFAULT_PORTS[service]))}"


def main() -> None:
    configure_logging("edge")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or ""
    if not bootstrap:
        raise SystemExit(
            "KAFKA_BOOTSTRAP_SERVERS is not set: the console's live board reads the event "
            "topics (start everything with `make run`)"
        )
    console = ConsoleSettings(
        dispatch_address=address("dispatch"),
        units_address=address("units"),
        incidents_address=address("incidents"),
        jurisdiction=load_jurisdiction(jurisdiction_file()),
        edge_token=os.environ.get("UC_EDGE_TOKEN") or DEMO_EDGE_TOKEN,
        sessions=SessionStore.from_environment(),
        live=LiveBoard(bootstrap),
    )
    app = create_app(address("units"), console)
    uvicorn.run(
        app,
        host=os.environ.get("UC_EDGE_HOST", "127.0.0.1"),
        port=int(os.environ.get("UC_EDGE_PORT", "8080")),
        log_config=None,  # our structlog handler renders uvicorn's lines too
        access_log=True,
        # Alert streams and console pages never finish by themselves: give them a
        # moment, then close them (a page reconnects and catches up).
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
