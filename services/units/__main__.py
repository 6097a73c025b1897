"""``python -m services.units``: the units service. On start it brings the registry in
line with the jurisdiction file (``UC_JURISDICTION_FILE``; idempotent), then listens for
dispatches to alert teams, and times each unanswered alert out at its deadline."""

import uuid

from services.common.auth import SYSTEM
from services.common.commands import system_key
from services.common.config import TOPICS
from services.common.listener import TopicListener
from services.common.runtime import ServiceRuntime
from services.common.store_follower import follow_store
from services.common.streams import is_history
from services.units.alerts import AlertDeadlines
from services.units.api import ACCESS, mount
from services.units.app import UnitsApp
from services.units.commands import LoadJurisdiction

# Each open WatchAlerts stream holds a worker thread: room for every team's app and more.
WORKERS = 512


def main() -> None:
    runtime = ServiceRuntime.create("units")
    app = UnitsApp(runtime.store)
    # Wired before the first read of the store, so the alerts left waiting when the
    # service last stopped enter the queue as the repository folds them.
    keeper = runtime.lease("alert-deadlines", lambda _token: deadlines.nudge())
    deadlines = AlertDeadlines(app.time_out_alert, in_charge=lambda: keeper.held() is not None)
    app.on_alert_waiting = deadlines.add
    app.on_alert_settled = deadlines.discard
    path = runtime.settings.jurisdiction_file
    app.load_jurisdiction(
        LoadJurisdiction("", path.read_text(encoding="utf-8"), path.name),
        SYSTEM,
        system_key(f"startup-{uuid.uuid4()}", "LoadJurisdiction"),
    )
    deadlines.start()
    # Other replicas' appends: their alerts reach this replica's team streams and queue.
    follower = follow_store(runtime.store, app.follow)
    # Each UnitDispatched becomes an alert to the unit's team, once: the alert's request id
    # is the dispatch event's id, so a redelivered event alerts nobody twice.
    listener = TopicListener(
        runtime.settings.kafka_bootstrap,
        TOPICS["dispatch"],
        "uc-units-alerts",
        app.alert_for_dispatch,
        # an imported incident's dispatches are history: nobody is alerted for them
        wants=lambda e: (
            e.WhichOneof("payload") == "unit_dispatched" and not is_history(e.stream_id)
        ),
    ).start()

    def stop() -> None:
        listener.stop()
        follower.stop()
        deadlines.stop()

    runtime.run(lambda server: mount(server, app), ACCESS, on_stop=stop, workers=WORKERS)


if __name__ == "__main__":
    main()
