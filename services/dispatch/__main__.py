"""``python -m services.dispatch``: the dispatch service. Besides its gRPC API it listens
to the units topic (declines, time-outs and releases of units on its incidents) and runs
the request filler, which re-dispatches and releases on its own with the service credential
``UC_SERVICE_TOKEN`` (an operator of role SERVICE in the jurisdiction file)."""

import threading

from services.common.config import TOPICS
from services.common.listener import TopicListener
from services.common.runtime import ServiceRuntime
from services.dispatch.api import ACCESS, mount
from services.dispatch.app import DispatchApp, wants_unit_event
from services.dispatch.history import known_units
from services.dispatch.request_filler import RequestFiller
from services.dispatch.travel import travel_for
from services.dispatch.units_client import UnitsClient

DEMO_SERVICE_TOKEN = "demo-svc-dispatch"  # the demo city's; a real jurisdiction has its own


def main() -> None:
    runtime = ServiceRuntime.create("dispatch")
    units = UnitsClient(runtime.settings.peer_address("units"))
    app = DispatchApp(
        runtime.store,
        units,
        travel=travel_for(runtime.jurisdiction),
        bounds=runtime.jurisdiction.jurisdiction.bounds,
        known_units=known_units(runtime.jurisdiction),
        jurisdiction=runtime.jurisdiction,
    )
    # The coverage grid (travel from every station to every cell) takes seconds to build:
    # built once in the background, so the first GetCoverage does not wait for all of it.
    threading.Thread(target=app.coverage_grid, name="coverage-grid", daemon=True).start()
    environment = runtime.settings.environment
    secret = environment.uc_service_token
    token = secret.get_secret_value() if secret else DEMO_SERVICE_TOKEN
    keeper = runtime.lease("request-filler", lambda _token: filler.wake())
    filler = RequestFiller(
        app,
        f"Bearer {token}",
        stray_after=environment.uc_stray_after_seconds,
        in_charge=lambda: keeper.held() is not None,
    )
    runtime.store.on_append(lambda _position: filler.wake())
    listener = TopicListener(
        runtime.settings.kafka_bootstrap,
        TOPICS["units"],
        "uc-dispatch-unit-outcomes",
        app.on_unit_event,
        wants=wants_unit_event,
        # Off the alert's path (a decline, a time-out, a release): 100 ms more at most
        # for a third of an idle consumer's CPU (docs/BENCHMARKS.md, suite intake).
        fetch_max_wait_ms=100,
    )

    def stop() -> None:
        listener.stop()
        filler.stop()
        units.close()

    filler.start()
    listener.start()
    runtime.run(lambda server: mount(server, app), ACCESS, on_stop=stop)


if __name__ == "__main__":
    main()
