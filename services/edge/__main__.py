"""``python -m services.edge``: the HTTP/JSON edge and the dispatch console (default port
8080, ``UC_EDGE_PORT``).

The console acts for its logged-in staff with the edge's own credential, an operator of
role GATEWAY in the jurisdiction file (``UC_EDGE_TOKEN``; the demo city's is
``demo-svc-edge``), and folds the event topics for its live board
(``KAFKA_BOOTSTRAP_SERVERS``). Sessions live in the edge's own store (``sessions.py``).
"""

from __future__ import annotations

import uvicorn

from services.common.config import settings
from services.common.jurisdiction import load_jurisdiction
from services.common.logging import configure_logging
from services.edge.asgi import create_asgi_app
from services.edge.console_api import ConsoleSettings
from services.edge.live import LiveBoard
from services.edge.sessions import SessionStore

DEMO_EDGE_TOKEN = "demo-svc-edge"  # the demo city's; a real jurisdiction has its own


def main() -> None:
    environment = settings()
    configure_logging("edge")
    bootstrap = environment.require_bootstrap("the console's live board reads the event topics")
    secret = environment.uc_edge_token
    console = ConsoleSettings(
        dispatch_address=environment.address("dispatch"),
        units_address=environment.address("units"),
        incidents_address=environment.address("incidents"),
        jurisdiction=load_jurisdiction(environment.jurisdiction_file),
        edge_token=secret.get_secret_value() if secret else DEMO_EDGE_TOKEN,
        sessions=SessionStore.from_environment(),
        live=LiveBoard(bootstrap),
    )
    app = create_asgi_app(environment.address("units"), console)
    uvicorn.run(
        app,
        host=environment.uc_edge_host,
        port=environment.uc_edge_port,
        log_config=None,  # our structlog handler renders uvicorn's lines too
        access_log=True,
        # Alert streams and console pages never finish by themselves: give them a
        # moment, then close them (a page reconnects and catches up).
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
