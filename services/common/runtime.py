"""The rooms every service has: settings, its event store, its outbox relay, its gRPC
server with authentication, its logging. ``ServiceRuntime.run`` serves until
SIGTERM/SIGINT."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from services.common.auth import AuthInterceptor, CredentialBook
from services.common.config import Settings, load_settings
from services.common.database import create_store_engine
from services.common.eventstore import EventStore
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Jurisdiction, Role, load_jurisdiction
from services.common.lease import Lease, LeaseKeeper, replica_id
from services.common.logging import configure_logging
from services.common.relay import OutboxRelay
from services.migrations import BRANCHES, SchemaNotCurrent, check

log = structlog.get_logger(__name__)

REPLICA = replica_id()  # this process, in lease rows


class DatabaseReadiness:
    """Reports the server not ready while its database does not answer (checked every
    ``every`` seconds): orchestrators then send calls to the other replicas. Kafka is not
    checked on purpose: without a broker a service still takes calls, its outbox keeps
    the events."""

    def __init__(self, store: EventStore, server: GrpcServer, every: float = 2.0) -> None:
        self.store = store
        self.server = server
        self.every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)

    def start(self) -> DatabaseReadiness:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        ready: bool | None = None  # unknown until the first look
        while True:
            try:
                self.store.max_position()
                answered = True
            except Exception as exc:
                answered = False
                if ready is not False:
                    log.warning("database unreachable: not ready", error=repr(exc))
            if answered != ready:
                if answered and ready is False:
                    log.info("database back: ready")
                ready = answered
                self.server.set_ready(ready)
            if self._stopping.wait(self.every):
                return


def current_store(service: str, url: str) -> Engine:
    """The service's database, once it answers (tried again with back-off meanwhile: a
    database still starting is no reason to crash) and is at the schema this code needs
    (``SystemExit`` naming ``uc migrate`` when it is not)."""
    engine = create_store_engine_when_up(url, service)
    try:
        check(engine, BRANCHES[service], f"the {service} store")
    except SchemaNotCurrent as exc:
        raise SystemExit(str(exc)) from None
    return engine


def create_store_engine_when_up(url: str, service: str) -> Engine:
    backoff = 0.5
    while True:
        try:
            engine = create_store_engine(url)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return engine
        except OperationalError as exc:
            log.warning(
                "database unreachable; trying again",
                service=service,
                error=str(exc.orig).strip().splitlines()[0],
                retry_in=backoff,
            )
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


@dataclass
class ServiceRuntime:
    settings: Settings
    store: EventStore
    relay: OutboxRelay
    jurisdiction: Jurisdiction
    keepers: list[LeaseKeeper] = field(default_factory=list)
    _readiness: DatabaseReadiness | None = None

    @classmethod
    def create(cls, service: str) -> ServiceRuntime:
        configure_logging(service)
        settings = load_settings(service)
        jurisdiction = load_jurisdiction(settings.jurisdiction_file)
        engine = current_store(service, settings.database_url)
        store = EventStore(engine)
        relay = OutboxRelay(
            store,
            lease=Lease(
                engine,
                f"relay:{settings.topic}",
                REPLICA,
                ttl=settings.environment.uc_lease_seconds,
            ),
            source=service,
            topic=settings.topic,
            bootstrap=settings.kafka_bootstrap,
            partitions=settings.topic_partitions,
        )
        return cls(settings, store, relay, jurisdiction)

    def lease(self, name: str, on_acquired: Callable[[int], None]) -> LeaseKeeper:
        """A lease in the service's store for work one replica does at a time, kept from
        ``start`` to ``stop``; the work checks ``held()`` before each step."""
        assert self.store.engine is not None, "leases live in the service's database"
        lease = Lease(
            self.store.engine, name, REPLICA, ttl=self.settings.environment.uc_lease_seconds
        )
        keeper = LeaseKeeper(lease, on_acquired)
        self.keepers.append(keeper)
        return keeper

    def server(self, access: Mapping[str, Iterable[Role]], workers: int = 32) -> GrpcServer:
        """A gRPC server whose every call (health and reflection aside) is authenticated
        against the jurisdiction's credentials and checked against ``access``."""
        book = CredentialBook.from_jurisdiction(self.jurisdiction)
        environment = self.settings.environment
        cert, key = environment.uc_grpc_tls_cert, environment.uc_grpc_tls_key
        return GrpcServer(
            self.settings.service,
            self.settings.grpc_host,
            self.settings.grpc_port,
            interceptors=[AuthInterceptor(book, access)],
            max_workers=workers,
            tls=(cert.read_bytes(), key.read_bytes()) if cert and key else None,
        )

    def start(
        self,
        mount: Callable[[GrpcServer], None],
        access: Mapping[str, Iterable[Role]],
        workers: int = 32,
    ) -> GrpcServer:
        """Start hearing of the other replicas' appends, the outbox relay, the leases and
        the gRPC server with the servicers ``mount`` adds."""
        self.store.watch_appends()
        self.relay.start()
        for keeper in self.keepers:
            keeper.start()
        server = self.server(access, workers)
        mount(server)
        server.start()
        self._readiness = DatabaseReadiness(self.store, server).start()
        return server

    def stop(self, server: GrpcServer, on_stop: Callable[[], None] | None = None) -> None:
        """Stop serving (gracefully), then ``on_stop``, the relay and the store."""
        if self._readiness is not None:
            self._readiness.stop()
        server.stop()
        self._shut_down(on_stop)

    def _shut_down(self, on_stop: Callable[[], None] | None) -> None:
        if on_stop is not None:
            on_stop()  # the work under the leases stops before the leases are given up
        for keeper in self.keepers:
            keeper.stop()
        self.relay.stop()
        self.store.close()
        log.info("stopped")

    def run(
        self,
        mount: Callable[[GrpcServer], None],
        access: Mapping[str, Iterable[Role]],
        on_stop: Callable[[], None] | None = None,
        workers: int = 32,
    ) -> None:
        """Serve until SIGTERM or SIGINT, then stop."""
        server = self.start(mount, access, workers)
        server.wait_for_signal(lambda: self._shut_down(on_stop))
