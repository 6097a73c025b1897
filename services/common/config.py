"""Settings read from the environment, one place for every service."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORTS = {"dispatch": 50051, "units": 50052, "incidents": 50053}
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

    @property
    def topic(self) -> str:
        return TOPICS[self.service]

    def peer_address(self, service: str) -> str:
        port = int(os.environ.get(f"UC_{service.upper()}_PORT", DEFAULT_PORTS[service]))
        host = os.environ.get(f"UC_{service.upper()}_HOST", "127.0.0.1")
        return f"{host}:{port}"


def data_dir() -> Path:
    path = Path(os.environ.get("UC_DATA_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_settings(service: str) -> Settings:
    """Each service has its own store: ``DATABASE_URL`` names a PostgreSQL server or an
    SQLite file; ``UC_<SERVICE>_DATABASE_URL`` overrides it for one service."""
    url = os.environ.get(f"UC_{service.upper()}_DATABASE_URL") or os.environ.get("DATABASE_URL")
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
        topic_partitions=int(os.environ.get("UC_TOPIC_PARTITIONS", "3")),
        grpc_host=os.environ.get("UC_GRPC_HOST", "127.0.0.1"),
        grpc_port=int(os.environ.get(f"UC_{service.upper()}_PORT", DEFAULT_PORTS[service])),
    )
