"""``python -m services.units``: the units service. On start it brings the registry in
line with the jurisdiction file (``UC_JURISDICTION_FILE``; idempotent)."""

import uuid

from emergency.v1 import units_pb2
from services.common.auth import SYSTEM
from services.common.runtime import ServiceRuntime
from services.units.api import ACCESS, mount
from services.units.app import UnitsApp


def main() -> None:
    runtime = ServiceRuntime.create("units")
    app = UnitsApp(runtime.store)
    path = runtime.settings.jurisdiction_file
    app.load_jurisdiction(
        units_pb2.LoadJurisdictionRequest(
            request_id=f"startup-{uuid.uuid4()}", yaml=path.read_text(encoding="utf-8"),
            file_name=path.name,
        ),
        SYSTEM,
    )  # fmt: skip
    runtime.run(lambda server: mount(server, app), ACCESS)


if __name__ == "__main__":
    main()
