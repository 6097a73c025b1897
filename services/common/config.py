"""Every setting a process reads, from the environment, parsed and validated in one place
(pydantic-settings). A missing or malformed value stops the process at start with the
variable's name: ``settings()`` raises ``SystemExit`` saying which and why.

Defaults suit one machine (``make run``): SQLite files under ``UC_DATA_DIR``, the services
on 127.0.0.1 at their default ports. deploy/README.md lists every variable; a test holds
that list and this module equal.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, FilePath, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

# Tansu creates a missing topic with 4 partitions when a client's metadata request lets it
# (aiokafka's, and so faust's, always do): after the broker lost its data, a consumer may
# recreate a topic before its relay does. With the same count, whoever recreates it, the
# keys land where they did and every consumer reads every partition. (With 3, a topic
# recreated by faust had a fourth partition that nobody read: the flaky loss seen in the
# broker-restart tests.)
DEFAULT_PARTITIONS = 4
DEFAULT_PORTS = {"dispatch": 50051, "units": 50052, "incidents": 50053, "edge": 8080}
GRPC_SERVICES = ("dispatch", "units", "incidents")
TOPICS = {
    "dispatch": "emergency.dispatch.v1",
    "units": "emergency.units.v1",
    "incidents": "emergency.incidents.v1",
}
# The files shipped with the code (``services/config/``), used unless a variable names
# another.
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
DEMO_JURISDICTION = CONFIG_DIR / "jurisdiction" / "demo-city.yaml"

SESSION_IDLE_SECONDS = 4 * 3600.0  # a quiet night shift must not log the call taker out
SESSION_MAX_SECONDS = 13 * 3600.0  # a 12-hour shift and its hand-over

Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0)]


class Environment(BaseSettings):
    """The variables, by name (case-insensitive); an empty value counts as unset."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    # --- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = None
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: FilePath | None = None
    # Idempotent producers need a broker that grants producer ids: Apache Kafka does, the
    # embedded development broker does not (tools/stack.py turns it off there).
    kafka_enable_idempotence: bool = True
    uc_topic_partitions: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_PARTITIONS
    # Replicas of a topic the services create themselves (production creates its topics
    # ahead, with 3: deploy/).
    uc_topic_replication_factor: Annotated[int, Field(ge=1, le=10)] = 1

    # --- stores ----------------------------------------------------------------------------
    database_url: str | None = None
    uc_dispatch_database_url: str | None = None
    uc_units_database_url: str | None = None
    uc_incidents_database_url: str | None = None
    uc_edge_database_url: str | None = None
    uc_data_dir: Path = Path("var")

    # --- where the services listen, and where their clients find them ---------------------
    uc_grpc_host: str = "127.0.0.1"
    uc_dispatch_port: Port = DEFAULT_PORTS["dispatch"]
    uc_units_port: Port = DEFAULT_PORTS["units"]
    uc_incidents_port: Port = DEFAULT_PORTS["incidents"]
    uc_edge_port: Port = DEFAULT_PORTS["edge"]
    uc_edge_host: str = "127.0.0.1"
    uc_dispatch_host: str = "127.0.0.1"
    uc_units_host: str = "127.0.0.1"
    uc_incidents_host: str = "127.0.0.1"
    # Several replicas: a comma-separated list of host:port, or a gRPC target such as
    # dns:///units.uc.svc:50052 (a headless Service); calls are spread round-robin.
    uc_dispatch_addresses: str | None = None
    uc_units_addresses: str | None = None
    uc_incidents_addresses: str | None = None
    uc_grpc_tls_cert: FilePath | None = None
    uc_grpc_tls_key: FilePath | None = None
    uc_grpc_tls_ca: FilePath | None = None  # clients: the CA that signed the servers' certs

    # --- replicas --------------------------------------------------------------------------
    uc_lease_seconds: Annotated[float, Field(ge=1, le=300)] = 6.0

    # --- the jurisdiction and the rules ----------------------------------------------------
    uc_jurisdiction_file: FilePath | None = None
    uc_run_cards_file: FilePath | None = None
    uc_standards_file: FilePath | None = None
    uc_period_standards_file: FilePath | None = None

    # --- credentials of the services themselves ------------------------------------------
    uc_service_token: SecretStr | None = None  # dispatch's own (role SERVICE)
    uc_edge_token: SecretStr | None = None  # the edge's own (role GATEWAY)

    # --- timing --------------------------------------------------------------------------
    uc_stray_after_seconds: Seconds = 30.0
    uc_session_idle_seconds: Seconds = SESSION_IDLE_SECONDS
    uc_session_max_seconds: Seconds = SESSION_MAX_SECONDS

    # --- logs ----------------------------------------------------------------------------
    uc_log_format: Literal["json", "console"] | None = None  # default: console on a terminal
    uc_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _pairs(self) -> Environment:
        if (self.uc_grpc_tls_cert is None) != (self.uc_grpc_tls_key is None):
            raise ValueError("UC_GRPC_TLS_CERT and UC_GRPC_TLS_KEY go together: set both")
        sasl = self.kafka_security_protocol.startswith("SASL")
        if sasl and not (self.kafka_sasl_mechanism and self.kafka_sasl_username):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    # --- derived ---------------------------------------------------------------------------

    def port(self, service: str) -> int:
        port: int = getattr(self, f"uc_{service}_port")
        return port

    def address(self, service: str) -> str:
        """Where a service's clients reach it: ``UC_<SERVICE>_ADDRESSES`` (several
        replicas) or ``UC_<SERVICE>_HOST``:``UC_<SERVICE>_PORT``."""
        listed: str | None = getattr(self, f"uc_{service}_addresses", None)
        if listed:
            return listed
        host: str = getattr(self, f"uc_{service}_host")
        return f"{host}:{self.port(service)}"

    def store_url(self, service: str) -> str:
        """Each service owns its store. ``UC_<SERVICE>_DATABASE_URL`` names it exactly;
        otherwise ``DATABASE_URL`` names a server (or SQLite file) the services share,
        each in its own schema (PostgreSQL) or its own file (SQLite); with neither, SQLite
        files under ``UC_DATA_DIR``."""
        own: str | None = getattr(self, f"uc_{service}_database_url")
        if own:
            return own
        if self.database_url:
            return store_url_for(self.database_url, service)
        return f"sqlite:///{data_dir(self) / f'{service}.db'}"

    def require_bootstrap(self, why: str) -> str:
        if not self.kafka_bootstrap_servers:
            raise SystemExit(
                f"KAFKA_BOOTSTRAP_SERVERS is not set: {why} (start everything with "
                "`make run`, which starts the embedded broker, or name a Kafka cluster)"
            )
        return self.kafka_bootstrap_servers

    def kafka_security(self) -> dict[str, Any]:
        """kafka-python client options for the configured security (none for PLAINTEXT)."""
        options: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_sasl_mechanism:
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            password = self.kafka_sasl_password
            options["sasl_plain_password"] = password.get_secret_value() if password else ""
        if self.kafka_ssl_cafile is not None:
            options["ssl_cafile"] = str(self.kafka_ssl_cafile)
        return options

    @property
    def jurisdiction_file(self) -> Path:
        """``UC_JURISDICTION_FILE``, else the demo city shipped with the project."""
        return self.uc_jurisdiction_file or DEMO_JURISDICTION


def _variable(location: tuple[str | int, ...]) -> str:
    return str(location[0]).upper() if location else "(settings)"


def read_environment() -> Environment:
    """The environment, validated; ``SystemExit`` naming each bad variable."""
    try:
        return Environment()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = _variable(error["loc"])
            given = error.get("input")
            shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
            problems.append(f"{where}: {error['msg']}{shown}")
        raise SystemExit("bad setting: " + "; ".join(problems)) from None


@functools.cache
def settings() -> Environment:
    """The process's settings, read once."""
    return read_environment()


@dataclass(frozen=True)
class Settings:
    """One gRPC service's view of the settings."""

    service: str
    environment: Environment

    @property
    def database_url(self) -> str:
        return self.environment.store_url(self.service)

    @property
    def kafka_bootstrap(self) -> str:
        return self.environment.require_bootstrap(f"the {self.service} service publishes to it")

    @property
    def topic_partitions(self) -> int:
        return self.environment.uc_topic_partitions

    @property
    def grpc_host(self) -> str:
        return self.environment.uc_grpc_host

    @property
    def grpc_port(self) -> int:
        return self.environment.port(self.service)

    @property
    def jurisdiction_file(self) -> Path:
        return self.environment.jurisdiction_file

    @property
    def topic(self) -> str:
        return TOPICS[self.service]

    def peer_address(self, service: str) -> str:
        return self.environment.address(service)


def load_settings(service: str) -> Settings:
    """The settings of one gRPC service; ``SystemExit`` naming a bad or missing variable."""
    environment = settings()
    environment.require_bootstrap(f"the {service} service publishes to it")
    return Settings(service, environment)


def service_address(service: str) -> str:
    """Where a service's clients reach it (see ``Environment.address``)."""
    return settings().address(service)


def data_dir(environment: Environment | None = None) -> Path:
    path = (environment or settings()).uc_data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def jurisdiction_file() -> Path:
    return settings().jurisdiction_file


def store_url_for(shared_url: str, service: str) -> str:
    """The shared database URL narrowed to one service's own store."""
    parsed = make_url(shared_url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "uc.db")
        return str(parsed.set(database=str(path.with_name(f"{path.stem}-{service}{path.suffix}"))))
    query = dict(parsed.query)
    query["uc_schema"] = service
    return parsed.set(query=query).render_as_string(hide_password=False)
