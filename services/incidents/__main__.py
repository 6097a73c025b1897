"""``python -m services.incidents``: the incident log (a faust worker) and its gRPC API.

The faust worker owns the main thread and the signals; the gRPC server runs in its own
threads and is stopped when the worker stops.
"""

from __future__ import annotations

import contextlib

import faust
import structlog

from services.common.auth import AuthInterceptor, CredentialBook
from services.common.broker import ensure_topics
from services.common.config import TOPICS, load_settings
from services.common.database import create_store_engine
from services.common.eventstore import EventStore
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import load_jurisdiction
from services.common.logging import configure_logging
from services.common.projection import ProjectionRunner
from services.common.relay import OutboxRelay
from services.incidents.api import ACCESS, IncidentsServicer, mount
from services.incidents.kafka_source import read_incident
from services.incidents.log import IncidentLogProjection, IncidentLogReader
from services.incidents.notes import Notes
from services.incidents.opened import DispatchIncidents
from services.incidents.stream_app import create_stream_app, rewind_everything_soon

log = structlog.get_logger(__name__)


def main() -> None:
    configure_logging("incidents")
    settings = load_settings("incidents")
    engine = create_store_engine(settings.database_url)
    store = EventStore(engine)  # the incidents service's own events (commander notes, ...)
    store.create_schema()
    reader = IncidentLogReader(engine)
    reader.create_schema()
    runner = ProjectionRunner(engine, IncidentLogProjection())
    runner.create_schema()
    ensure_topics(settings.kafka_bootstrap, TOPICS.values(), settings.topic_partitions)

    relay = OutboxRelay(
        store,
        source="incidents",
        topic=settings.topic,
        bootstrap=settings.kafka_bootstrap,
        partitions=settings.topic_partitions,
    ).start()
    book = CredentialBook.from_jurisdiction(load_jurisdiction(settings.jurisdiction_file))
    server = GrpcServer(
        "incidents", settings.grpc_host, settings.grpc_port,
        interceptors=[AuthInterceptor(book, ACCESS)],
    )  # fmt: skip
    dispatch = DispatchIncidents(settings.peer_address("dispatch"))
    notes = Notes(store, reader.exists, dispatch.opened)
    mount(
        server,
        IncidentsServicer(
            reader,
            notes,
            lambda incident_id, opened_at_us: read_incident(
                settings.kafka_bootstrap, incident_id, opened_at_us=opened_at_us
            ),
            dispatch.opened,
        ),
    )
    server.start()

    app = create_stream_app(settings.kafka_bootstrap, settings.topic_partitions, runner)
    worker = faust.Worker(
        app, loglevel="WARNING", override_logging=False, redirect_stdouts=False, quiet=True
    )
    # This relay is the one that recreates the incidents topic after the broker lost
    # everything: the surest sign that this worker's offsets mean nothing any more.
    loop = worker.loop  # the worker's loop, taken here: the relay calls from its thread
    relay.on_broker_reset = lambda: rewind_everything_soon(app, loop)
    try:
        with contextlib.suppress(SystemExit):
            worker.execute_from_commandline()
    finally:
        server.stop()
        dispatch.close()
        relay.stop()
        store.close()
        log.info(
            "stopped",
            applied=runner.applied,
            duplicates=runner.duplicates,
            held_back=runner.held_back,
            parked=runner.parked,
        )


if __name__ == "__main__":
    main()
