"""Settings read from the environment, one place for every service."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

# Tansu creates a missing topic with 4 partitions when a client's metadata request lets it
# (aiokafka's, and so faust's, always do): after the broker lost its data, a consumer may
# recreate a topic before its relay does. With the same count, whoever recreates it, the
# keys land where they did and every consumer reads every partition. (With 3, a topic
# recreated by faust had a fourth partition that nobody read: the flaky loss seen in the
# broker-restart tests.)
DEFAULT_PARTITIONS = 4
DEFAULT_PORTS = {"dispatch": 50051, "units": 50052, "incidents": 50053, "edge": 8080}
TOPICS = {
    "dispatch": "emergency.dispatch.v1",
    "units": "emergency.units.v1",
    "incidents": "emergency.incidents.v1",
}


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    kafka_bootstrap: str
    topic_partitions: int
    grpc_host: str
    grpc_port: int
    jurisdiction_file: Path

    @property
    def topic(self) -> str:
        return TOPICS[self.service]

    def peer_address(self, service: str) -> str:
        return service_address(service)


def service_address(service: str) -> str:
    """Where a service listens, as its clients reach it: ``UC_<SERVICE>_HOST`` (default
    127.0.0.1) and ``UC_<SERVICE>_PORT`` (default ``DEFAULT_PORTS``)."""
    port = int(os.environ.get(f"UC_{service.upper()}_PORT", DEFAULT_PORTS[service]))
    host = os.environ.get(f"UC_{service.upper()}_HOST", "127.0.0.1")
    return f"{host}:{port}"


def data_dir() -> Path:
    path = Path(os.environ.get("UC_DATA_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_settings(service: str) -> Settings:
    """Each service owns its store. ``UC_<SERVICE>_DATABASE_URL`` names it exactly;
    otherwise ``DATABASE_URL`` names a server (or SQLite file) that the services share,
    each in its own schema (PostgreSQL) or its own file (SQLite); with neither, SQLite
    files under ``UC_DATA_DIR``."""
    url = os.environ.get(f"UC_{service.upper()}_DATABASE_URL") or ""
    if not url and os.environ.get("DATABASE_URL"):
        url = store_url_for(os.environ["DATABASE_URL"], service)
    if not url:
        url = f"sqlite:///{data_dir() / f'{service}.db'}"
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise RuntimeError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: start the stack with `make run` "
            "(which starts the embedded broker) or point it at a Kafka cluster"
        )
    return Settings(
        service=service,
        database_url=url,
        kafka_bootstrap=bootstrap,
        topic_partitions=int(os.environ.get("UC_TOPIC_PARTITIONS", str(DEFAULT_PARTITIONS))),
        grpc_host=os.environ.get("UC_GRPC_HOST", "127.0.0.1"),
        grpc_port=int(os.environ.get(f"UC_{service.upper()}_PORT", DEFAULT_PORTS[service])),
        jurisdiction_file=jurisdiction_file(),
    )


DEMO_JURISDICTION = Path(__file__).resolve().parents[2] / "config/jurisdiction/demo-city.yaml"


def jurisdiction_file() -> Path:
    """``UC_JURISDICTION_FILE``, else the demo city shipped with the project."""
    return Path(os.environ.get("UC_JURISDICTION_FILE") or DEMO_JURISDICTION)


def store_url_for(shared_url: str, service: str) -> str:
    """The shared database URL narrowed to one service's own store."""
    parsed = make_url(shared_url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "uc.db")
        return str(parsed.set(database=str(path.with_name(f"{path.stem}-{service}{path.suffix}"))))
    query = dict(parsed.query)
    query["uc_schema"] = service
    return parsed.set(query=query).render_as_string(hide_password=False)
