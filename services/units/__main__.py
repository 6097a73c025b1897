"""``python -m services.units``: the units service."""

from services.common.runtime import ServiceRuntime
from services.units.api import mount
from services.units.app import UnitsApp


def main() -> None:
    runtime = ServiceRuntime.create("units")
    app = UnitsApp(runtime.store)
    runtime.run(lambda server: mount(server, app))


if __name__ == "__main__":
    main()
