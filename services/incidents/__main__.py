"""``python -m services.incidents``: the incident log (a faust worker feeding the read
models) and its gRPC API, started through the same bootstrap as every service.

The faust worker owns the main thread and the signals; the gRPC server runs in its own
threads and is stopped when the worker stops.
"""

from __future__ import annotations

import contextlib
from zoneinfo import ZoneInfo

import faust
import structlog

from services.common.config import TOPICS
from services.common.projection import ProjectionRunner
from services.common.runtime import ServiceRuntime
from services.common.topics import ensure_topics
from services.incidents.api import ACCESS, IncidentsServicer, mount
from services.incidents.app import IncidentRecord
from services.incidents.kafka_source import read_incident
from services.incidents.opened import DispatchIncidents
from services.incidents.read_models import IncidentLogProjection, IncidentLogReader
from services.incidents.report import load_standards
from services.incidents.stream_app import create_stream_app, rewind_everything_soon

log = structlog.get_logger(__name__)


def main() -> None:
    runtime = ServiceRuntime.create("incidents")
    settings = runtime.settings
    engine = runtime.store.engine  # the read models live beside the service's own events
    assert engine is not None, "the incidents service keeps its store in a database"
    reader = IncidentLogReader(engine)
    runner = ProjectionRunner(engine, IncidentLogProjection())
    ensure_topics(settings.kafka_bootstrap, TOPICS.values(), settings.topic_partitions)

    dispatch = DispatchIncidents(settings.peer_address("dispatch"))
    record = IncidentRecord(
        runtime.store,
        reader,
        lambda incident_id, opened_at_us: read_incident(
            settings.kafka_bootstrap, incident_id, opened_at_us=opened_at_us
        ),
        dispatch.opened,
        load_standards(),
    )
    zone = ZoneInfo(runtime.jurisdiction.jurisdiction.time_zone)
    attribution = runtime.jurisdiction.jurisdiction.attribution
    servicer = IncidentsServicer(record, zone, (attribution,) if attribution else ())
    server = runtime.start(lambda s: mount(s, servicer), ACCESS)

    stream_app = create_stream_app(settings.kafka_bootstrap, settings.topic_partitions, runner)
    worker = faust.Worker(
        stream_app,
        loglevel="WARNING",
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    # This service's relay is the one that recreates the incidents topic after the broker
    # lost everything: the surest sign that this worker's offsets mean nothing any more.
    loop = worker.loop  # the worker's loop, taken here: the relay calls from its thread
    runtime.relay.on_broker_reset = lambda: rewind_everything_soon(stream_app, loop)
    try:
        with contextlib.suppress(SystemExit):
            worker.execute_from_commandline()
    finally:
        runtime.stop(server, on_stop=dispatch.close)
        log.info(
            "incident log counts",
            applied=runner.applied,
            duplicates=runner.duplicates,
            held_back=runner.held_back,
            parked=runner.parked,
        )


if __name__ == "__main__":
    main()
