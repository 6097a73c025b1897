"""structlog, configured once per process.

JSON lines when stderr is not a terminal (production, CI, `make run` piped to a file);
a readable console renderer on a terminal. ``UC_LOG_FORMAT=json|console`` overrides.
Context variables (the incident's correlation id, the gRPC method) are merged into
every line logged while they are bound.
"""

from __future__ import annotations

import logging
import sys

import structlog

from services.common.config import settings

_configured = False


def configure_logging(service: str, level: str | None = None) -> None:
    global _configured
    if _configured:
        return
    environment = settings()
    level_name = (level or environment.uc_log_level).upper()
    fmt = environment.uc_log_format or ("console" if sys.stderr.isatty() else "json")
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    )

    def add_service(
        _logger: object, _name: str, event_dict: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            # First: a line below the level costs a level check, not the whole chain.
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info if fmt == "json" else _identity,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Library logs (kafka, faust, grpc) go through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    for noisy in ("kafka", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # While the broker is away these log every reconnect attempt as an error; the relay
    # and the consumer report the outage once, in our own words.
    for chatty in ("kafka.net", "kafka.cluster", "kafka.client_async", "kafka.conn"):
        logging.getLogger(chatty).setLevel(logging.CRITICAL)
    _configured = True


def _identity(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    return event_dict
