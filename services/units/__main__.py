"""``python -m services.units``: the units service. On start it brings the registry in
line with the jurisdiction file (``UC_JURISDICTION_FILE``; idempotent), then listens for
dispatches to alert teams, and times each unanswered alert out at its deadline."""

import uuid

from services.common.auth import SYSTEM
from services.common.commands import system_key
from services.common.config import TOPICS
from services.common.listener import TopicListener
from services.common.runtime import ServiceRuntime
from services.units.alerts import AlertDeadlines
from services.units.api import ACCESS, mount
from services.units.app import UnitsApp
from services.units.commands import LoadJurisdiction

# Each open WatchAlerts stream holds a worker thread: room for every team's app and more.
WORKERS = 512


def main() -> None:
    runtime = ServiceRuntime.create("units")
    app = UnitsApp(runtime.store)
    path = runtime.settings.jurisdiction_file
    app.load_jurisdiction(
        LoadJurisdiction("", path.read_text(encoding="utf-8"), path.name),
        SYSTEM,
        system_key(f"startup-{uuid.uuid4()}", "LoadJurisdiction"),
    )
    # Told of new alerts before it reads the old ones, so none falls between the two.
    deadlines = AlertDeadlines(app.time_out_alert)
    app.on_alerted = deadlines.add
    for due in app.waiting_deadlines():  # alerts left waiting when the service last stopped
        deadlines.add(*due)
    deadlines.start()
    # Each UnitDispatched becomes an alert to the unit's team, once: the alert's request id
    # is the dispatch event's id, so a redelivered event alerts nobody twice.
    listener = TopicListener(
        runtime.settings.kafka_bootstrap,
        TOPICS["dispatch"],
        "uc-units-alerts",
        app.alert_for_dispatch,
        wants=lambda e: e.WhichOneof("payload") == "unit_dispatched",
    ).start()

    def stop() -> None:
        listener.stop()
        deadlines.stop()

    runtime.run(lambda server: mount(server, app), ACCESS, on_stop=stop, workers=WORKERS)


if __name__ == "__main__":
    main()
