"""``python -m services.dispatch``: the dispatch service."""

from services.common.runtime import ServiceRuntime
from services.dispatch.api import ACCESS, mount
from services.dispatch.app import DispatchApp
from services.dispatch.units_client import UnitsClient


def main() -> None:
    runtime = ServiceRuntime.create("dispatch")
    units = UnitsClient(runtime.settings.peer_address("units"))
    app = DispatchApp(runtime.store, units, bounds=runtime.jurisdiction.jurisdiction.bounds)
    runtime.run(lambda server: mount(server, app), ACCESS, on_stop=units.close)


if __name__ == "__main__":
    main()
