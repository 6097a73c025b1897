"""``python -m services.dispatch``: the dispatch service."""

from services.common.runtime import ServiceRuntime
from services.dispatch.api import ACCESS, mount
from services.dispatch.app import DispatchApp


def main() -> None:
    runtime = ServiceRuntime.create("dispatch")
    app = DispatchApp(runtime.store)
    runtime.run(lambda server: mount(server, app), ACCESS)


if __name__ == "__main__":
    main()
