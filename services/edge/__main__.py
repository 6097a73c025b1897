"""``python -m services.edge``: the HTTP/JSON edge (default port 8080, ``UC_EDGE_PORT``)."""

from __future__ import annotations

import os

import uvicorn

from services.common.config import DEFAULT_PORTS
from services.common.logging import configure_logging
from services.edge.app import create_app


def main() -> None:
    configure_logging("edge")
    units = (
        os.environ.get("UC_UNITS_HOST", "127.0.0.1")
        + ":"
        + os.environ.get("UC_UNITS_PORT", str(DEFAULT_PORTS["units"]))
    )
    app = create_app(units)
    uvicorn.run(
        app,
        host=os.environ.get("UC_EDGE_HOST", "127.0.0.1"),
        port=int(os.environ.get("UC_EDGE_PORT", "8080")),
        log_config=None,  # our structlog handler renders uvicorn's lines too
        access_log=True,
        # Alert streams never finish by themselves: give them a moment, then close them.
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
