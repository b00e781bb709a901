"""The deployment files: deploy/kubernetes/, deploy/docker-compose.yml (with LiveKit's,
Prometheus' and Grafana's files beside it), the Grafana dashboard and the Dockerfile.

Neither a cluster nor Docker runs here, so each file is checked as far as it can be
without one: the Kubernetes manifests against the Kubernetes JSON schemas bundled by
kubernetes-validate (strict: an unknown field fails), the compose file against the Compose
Specification's JSON schema vendored by check-jsonschema (strict too), the LiveKit config by
the pinned LiveKit server itself, the dashboard's queries against the metrics the worker
serves (METRICS below, checked against the code), the image's HEALTHCHECK by running its
command; and every value one file takes from another (ports, names, paths, settings)
against that other file.
"""

from __future__ import annotations

import copy
import http.server
import importlib.resources
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import kubernetes_validate
import pytest
import yaml

from agent.capacity import INTERVIEW_MB, WORKER_BASE_MB, max_interviews
from agent.config import Settings
from agent.worker import DRAIN_TIMEOUT_S

from .services import free_port, http_ok, start_or_skip, wait_until

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "docker-compose.yml"
DASHBOARD = DEPLOY / "grafana" / "interview-worker.json"
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
"""The oldest Kubernetes release still commonly run, and the newest the validator knows."""
SETTINGS = {name.upper() for name in Settings.model_fields}
"""The environment variables the worker reads (``agent/config.py``)."""


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# ------------------------------------------------------------------------------ Kubernetes


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def documents_with_files() -> list[dict[str, Any]]:
    return [
        {**d, "_file": p.name}
        for p in manifest_files()
        for d in yaml.safe_load_all(p.read_text())
        if d
    ]


def workload() -> dict[str, Any]:
    (found,) = [d for d in documents_with_files() if d["kind"] == "StatefulSet"]
    return found


def of_kind(kind: str) -> dict[str, Any]:
    (found,) = [d for d in documents_with_files() if d["kind"] == kind]
    return found


def container() -> dict[str, Any]:
    (worker,) = workload()["spec"]["template"]["spec"]["containers"]
    return worker


def pod_labels() -> dict[str, str]:
    return workload()["spec"]["template"]["metadata"]["labels"]


def test_the_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    kustomization = load(K8S / "kustomization.yaml")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    expected = {p.name for p in manifest_files() if ".example." not in p.name}
    assert set(resources) == expected
    assert (K8S / "secret.example.yaml").exists()  # shown, never applied over the real one
    assert not (DEPLOY / "kubernetes.yaml").exists()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid_for_kubernetes(path: Path, version: str) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path)
            pytest.fail(f"{path.name} {doc['kind']} (Kubernetes {version}) at {where}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            pytest.fail(f"{path.name}: {e.message}")


def test_the_validator_rejects_a_misspelt_field() -> None:
    """The check above is strict: a field Kubernetes does not know fails it."""
    doc = copy.deepcopy(workload())
    doc.pop("_file")
    kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)
    pod = doc["spec"]["template"]["spec"]
    pod["terminationGracePeriod"] = pod.pop("terminationGracePeriodSeconds")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)


def test_the_workload_is_a_stateful_set_with_a_volume_per_worker() -> None:
    sts = workload()
    spec = sts["spec"]
    assert "replicas" not in spec  # the autoscaler's to set
    assert spec["selector"]["matchLabels"].items() <= pod_labels().items()
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    (mount,) = container()["volumeMounts"]
    assert mount["name"] == claim["metadata"]["name"]
    env = {e["name"]: e.get("value") for e in container()["env"]}
    assert Path(env["INTERVIEW_OUTBOX_PATH"]).parent == Path(mount["mountPath"])
    assert Path(env["INTERVIEW_DB_PATH"]).parent == Path(mount["mountPath"])
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    assert spec["podManagementPolicy"] == "Parallel"


def test_the_worker_runs_as_the_images_user() -> None:
    uid = int(re.search(r"useradd .*--uid (\d+)", DOCKERFILE.read_text()).group(1))
    security = workload()["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == uid == 10001
    assert security["fsGroup"] == uid  # the volume is writable by the worker


def test_every_variable_set_for_the_worker_is_a_setting() -> None:
    env = {e["name"]: e["value"] for e in container()["env"]}
    assert env.keys() <= SETTINGS, env.keys() - SETTINGS
    (source,) = container()["envFrom"]
    secret = of_kind("Secret")
    assert secret["_file"] == "secret.example.yaml"
    assert source["secretRef"]["name"] == secret["metadata"]["name"]
    values = secret["stringData"]
    assert values.keys() <= SETTINGS, values.keys() - SETTINGS
    for name, value in values.items():  # placeholders only
        assert re.search(r"example|replace", value, re.IGNORECASE), name


def test_the_probes_ask_the_health_port_the_container_names() -> None:
    worker = container()
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    env = {e["name"]: e["value"] for e in worker["env"]}
    assert ports["health"] == int(env["HEALTH_PORT"]) == Settings(_env_file=None).health_port
    assert ports["metrics"] == int(env["METRICS_PORT"]) == 9100
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/", "port": "health"}, probe


def test_the_autoscaler_scales_the_stateful_set_slowly_down() -> None:
    hpa, sts = of_kind("HorizontalPodAutoscaler"), workload()
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert target == {
        "apiVersion": sts["apiVersion"],
        "kind": "StatefulSet",
        "name": sts["metadata"]["name"],
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    utilization = metric["resource"]["target"]["averageUtilization"]
    assert 50 <= utilization <= 65  # replies stay fast while interviews use <= ~1.3 of 2 cores
    down = hpa["spec"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] >= DRAIN_TIMEOUT_S


def test_the_service_is_headless_and_exposes_the_metrics_port() -> None:
    service, sts = of_kind("Service"), workload()
    assert sts["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= pod_labels().items()
    (port,) = service["spec"]["ports"]
    container_ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert port["name"] == port["targetPort"] == "metrics"
    assert port["port"] == container_ports["metrics"]
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(container_ports["metrics"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_the_disruption_budget_covers_the_workers() -> None:
    pdb = of_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels().items()
    assert pdb["spec"]["maxUnavailable"] == 1


def test_the_deployment_is_sized_from_the_measured_figures() -> None:
    """deploy/kubernetes/worker.yaml: the CPU limit gives the measured 16 interviews, the
    memory holds the worker and every slot (plus LiveKit's warm idle processes), and a pod
    is given the drain time its interviews may need."""
    pod = workload()["spec"]["template"]["spec"]
    (worker,) = pod["containers"]
    limits, requests = worker["resources"]["limits"], worker["resources"]["requests"]
    assert limits == requests  # a guaranteed pod: the measured CPU is there when needed
    cores = float(limits["cpu"])
    slots = max_interviews(None, cores=cores)
    assert slots == 16
    memory_mb = float(limits["memory"].removesuffix("Gi")) * 1024
    idle = int(cores + 0.999)  # LiveKit keeps one warm idle process per CPU
    assert memory_mb >= WORKER_BASE_MB + (slots + idle) * INTERVIEW_MB * 1.2
    assert pod["terminationGracePeriodSeconds"] > DRAIN_TIMEOUT_S


# ------------------------------------------------------------------------------ Dockerfile

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


def healthcheck() -> tuple[dict[str, str], list[str]]:
    (args,) = [a for k, a in instructions() if k == "HEALTHCHECK"]
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", args))
    command = args[args.index("CMD") + len("CMD") :].strip()
    return options, json.loads(command)  # exec form: no shell in between


def seconds(duration: str) -> float:
    """A Docker / Compose duration such as ``31m``, ``1m30s`` or ``5s``."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_the_image_has_one_healthcheck_on_the_probes_endpoint() -> None:
    options, command = healthcheck()
    assert command[:2] == ["python", "-c"] and len(command) == 3
    snippet = command[2]
    assert "http://127.0.0.1:" in snippet and "'HEALTH_PORT', '8081'" in snippet
    assert seconds(options["start-period"]) >= 60  # models load before the worker is live
    assert int(options["retries"]) >= 2
    (own_timeout,) = re.findall(r"timeout=(\d+)", snippet)
    assert int(own_timeout) < seconds(options["timeout"])  # it fails before Docker kills it
    exposed = {int(p) for k, a in instructions() if k == "EXPOSE" for p in a.split()}
    assert {p["containerPort"] for p in container()["ports"]} <= exposed


def test_the_image_copies_every_package_the_project_installs() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    top_level = {name.split(".")[0] for name in packages["packages"]}
    copied = {shlex.split(a)[0] for k, a in instructions() if k == "COPY"}
    assert top_level <= copied, top_level - copied


class Health(http.server.BaseHTTPRequestHandler):
    status = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[Health]]]:
    handler = type("Handler", (Health,), {"paths": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    _, command = healthcheck()
    env = {"PATH": os.environ.get("PATH", ""), "HEALTH_PORT": str(port)}
    return subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=20
    )


def test_the_healthcheck_passes_on_200_and_fails_otherwise(health_server) -> None:
    port, handler = health_server
    assert run_healthcheck(port).returncode == 0
    assert handler.paths == ["/"]  # the path the probes ask
    handler.status = 503  # the worker lost LiveKit or its inference process
    assert run_healthcheck(port).returncode != 0
    assert run_healthcheck(free_port()).returncode != 0  # nothing listens


# ------------------------------------------------------------------------ docker compose


def compose() -> dict[str, Any]:
    return load(COMPOSE)


def compose_schema() -> dict[str, Any]:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendored.joinpath("compose-spec.json").read_text())


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose())
    ]
    assert not errors, errors
    misspelt = compose()
    worker = misspelt["services"]["worker"]
    worker["stop_grace_perod"] = worker.pop("stop_grace_period")
    assert not validator.is_valid(misspelt)  # strict: an unknown key fails


def test_the_compose_services_and_their_volumes() -> None:
    spec = compose()
    services = spec["services"]
    assert {"livekit", "redis", "worker", "prometheus", "grafana"} <= services.keys()
    declared = set(spec.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).resolve().exists(), (name, source)
            else:
                assert source in declared, (name, source)
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
    for name in ("livekit", "redis", "worker"):
        assert "healthcheck" in services[name], name


def test_the_compose_worker_is_built_from_the_repository_and_drains() -> None:
    worker = compose()["services"]["worker"]
    context = (DEPLOY / worker["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / worker["build"].get("dockerfile", "Dockerfile")).is_file()
    assert seconds(worker["stop_grace_period"]) > DRAIN_TIMEOUT_S
    _, command = healthcheck()
    assert worker["healthcheck"]["test"] == ["CMD", *command]  # the image's own
    (data,) = [v for v in worker["volumes"] if v.endswith(":/app/data")]
    assert data.split(":")[0] in compose()["volumes"]


def test_every_variable_the_compose_worker_sets_is_a_setting() -> None:
    env = compose()["services"]["worker"]["environment"]
    assert env.keys() <= SETTINGS, env.keys() - SETTINGS
    livekit = load(DEPLOY / "livekit.yaml")
    assert env["LIVEKIT_URL"] == f"ws://livekit:{livekit['port']}"
    assert env["INTERVIEW_OUTBOX_PATH"] == "/app/data/outbox.db"
    assert env["METRICS_PORT"] == "9100" and env["HEALTH_PORT"] == "8081"


def test_every_value_the_compose_file_asks_for_is_in_the_env_example() -> None:
    asked = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    example = (DEPLOY / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert asked and asked == listed, asked ^ listed
    assert not re.findall(r"^[A-Z0-9_]+=.+$", example, re.MULTILINE)  # no value in it


def test_the_compose_livekit_is_the_pinned_server_with_its_config() -> None:
    from .rooms.servers import LIVEKIT_VERSION

    livekit = compose()["services"]["livekit"]
    assert livekit["image"] == f"livekit/livekit-server:v{LIVEKIT_VERSION}"
    assert "--dev" not in livekit["command"]
    config = livekit["command"][livekit["command"].index("--config") + 1]
    assert f"./livekit.yaml:{config}:ro" in livekit["volumes"]
    assert livekit["command"][livekit["command"].index("--bind") + 1] == "0.0.0.0"
    settings = load(DEPLOY / "livekit.yaml")
    assert "keys" not in settings  # the key pair comes from LIVEKIT_KEYS
    assert "LIVEKIT_KEYS" in livekit["environment"]
    published = {p.split(":")[-1] for p in livekit["ports"]}
    rtc = settings["rtc"]
    assert published == {
        str(settings["port"]),
        str(rtc["tcp_port"]),
        f"{rtc['udp_port']}/udp",
    }


def test_prometheus_scrapes_the_worker_and_grafana_reads_prometheus() -> None:
    spec = compose()
    scrape = load(DEPLOY / "prometheus.yml")["scrape_configs"]
    targets = {t for job in scrape for c in job["static_configs"] for t in c["targets"]}
    metrics_port = spec["services"]["worker"]["environment"]["METRICS_PORT"]
    livekit_metrics = load(DEPLOY / "livekit.yaml")["prometheus_port"]
    assert targets == {f"worker:{metrics_port}", f"livekit:{livekit_metrics}"}
    assert (
        "./prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in (spec["services"]["prometheus"]["volumes"])
    )

    provisioning = DEPLOY / "grafana" / "provisioning"
    (source,) = load(provisioning / "datasources" / "prometheus.yaml")["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = load(provisioning / "dashboards" / "interview.yaml")["providers"]
    grafana = spec["services"]["grafana"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    mounted = [v.split(":")[1] for v in grafana["volumes"] if v.startswith("./grafana/inter")]
    assert [str(Path(m).parent) for m in mounted] == [provider["options"]["path"]]
    assert Path(mounted[0]).name == DASHBOARD.name


# ---------------------------------------------------------------------- LiveKit's config


def test_the_pinned_livekit_server_accepts_the_config() -> None:
    """deploy/livekit.yaml as LiveKit reads it (strict: an unknown key stops the server),
    with the ports moved to free ones and the key pair from the environment, as compose
    gives it."""
    from .rooms.servers import livekit_binary

    binary = start_or_skip(livekit_binary, "the LiveKit config check")
    bad = subprocess.run(
        [str(binary), "--config-body", "no_such_key: 1"], capture_output=True, text=True
    )
    assert "could not parse config" in bad.stdout + bad.stderr  # it exits 0 all the same

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LIVEKIT_KEYS": "deploy-test: " + "s" * 40,
        "LIVEKIT_PORT": str(port),
        "LIVEKIT_RTC_TCP_PORT": str(free_port()),
        "UDP_PORT": str(free_port(socket.SOCK_DGRAM)),
        "LIVEKIT_PROMETHEUS_PORT": str(free_port()),
    }
    args = ["--config", str(DEPLOY / "livekit.yaml"), "--bind", "127.0.0.1"]
    server = subprocess.Popen(
        [str(binary), *args, "--node-ip", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(
            lambda: server.poll() is not None or http_ok(f"http://127.0.0.1:{port}/"),
            "the LiveKit server",
            limit_s=15,
        )
        started = server.poll() is None  # it exits when the config does not parse
    finally:
        if server.poll() is None:
            server.kill()  # its first SIGTERM only starts a drain
        output = server.communicate()[0]
    assert started, output[-2000:]


# ------------------------------------------------------------------------------ Grafana


METRICS: dict[str, tuple[str, set[str]]] = {
    "interview_started": ("counter", {"mode"}),
    "interview_ended": ("counter", {"ended_by"}),
    "interview_running": ("gauge", set()),
    "interview_outbox_pending": ("gauge", set()),
    "interview_outbox_oldest_pending_seconds": ("gauge", set()),
    "interview_finalize_seconds": ("histogram", set()),
    "interview_provider_errors": ("counter", {"provider", "service", "status"}),
    "interview_reply_latency_seconds": ("histogram", set()),
    "interview_llm_tokens": ("counter", {"model", "direction", "purpose"}),
    "interview_stt_audio_seconds": ("counter", {"model"}),
    "interview_tts_characters": ("counter", {"model"}),
    "interview_estimated_cost_usd": ("histogram", set()),
    "lk_agents_active_job_count": ("gauge", {"nodename"}),
    "lk_agents_worker_load": ("gauge", {"nodename"}),
    "lk_agents_child_process_count": ("gauge", {"nodename"}),
    "lk_agents_proc_initialize_duration_seconds": ("histogram", {"nodename"}),
}
"""The worker's metrics (``observability/metrics.py`` and LiveKit's
``livekit.agents.telemetry``): family name, type and labels."""


def test_the_metrics_listed_are_the_ones_the_code_registers() -> None:
    """Each metric the worker's code makes as it is imported (the outbox gauges are made
    later, when first set) has the name, type and labels listed in METRICS."""
    from livekit.agents.telemetry import metrics as livekit_metrics
    from prometheus_client.metrics import MetricWrapperBase

    from observability import metrics as interview_metrics

    registered = {
        metric._name: (metric._type, set(metric._labelnames))
        for module in (interview_metrics, livekit_metrics)
        for metric in vars(module).values()
        if isinstance(metric, MetricWrapperBase)
    }
    assert len(registered) >= 10
    assert {name: METRICS.get(name) for name in registered} == registered


def served_metrics() -> dict[str, tuple[str, set[str]]]:
    """Every sample name the worker serves for METRICS (as the Prometheus client names
    them: a counter's ``_total``, a histogram's ``_bucket``, ``_sum`` and ``_count``), with
    its family and labels."""
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    names: dict[str, tuple[str, set[str]]] = {}
    for family, (kind, labels) in METRICS.items():
        for suffix in suffixes[kind]:
            extra = {"le"} if suffix == "_bucket" else set()
            names[family + suffix] = (family, labels | extra)
    return names


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "offset", "inf", "nan"}
TARGET_LABELS = {"instance", "job"}
"""Labels Prometheus adds to every scraped series."""


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)  # Grafana's variables
    found = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if e[m.end() :].lstrip().startswith("("):  # a function or an aggregation
            continue
        if m.group().lower() not in PROMQL_WORDS:
            found.add(m.group())
    return found


def test_the_promql_reader_finds_every_name() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(interview_reply_latency_seconds_bucket{a="b"}'
        "[$__rate_interval]))) / on (x) sum(interview_startd_total) * 60"
    )
    assert metric_names(expr) == {
        "interview_reply_latency_seconds_bucket",
        "interview_startd_total",
    }


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    found = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # a collapsed row's
    return found


def test_the_dashboard_is_provisionable_with_a_datasource_variable() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 36
    assert board["uid"] and board["title"]
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["title"].strip(), panel["id"]
        width = panel["gridPos"]["x"] + panel["gridPos"]["w"]
        assert width <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"]) == panel["datasource"]


def test_the_dashboard_queries_only_metrics_the_worker_serves() -> None:
    served = served_metrics()
    families = {family for family, _ in served.values()}
    used: set[str] = set()
    for panel in panels():
        for target in panel.get("targets", []):
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            unknown = names - served.keys()
            assert not unknown, (panel["title"], unknown)
            labels = set().union(*(served[n][1] for n in names)) | TARGET_LABELS
            grouped = re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", target["expr"])
            grouped_labels = {g.strip() for group in grouped for g in group.split(",")}
            legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
            selectors = "".join(re.findall(r"\{[^}]*\}", target["expr"]))
            matched = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selectors))
            assert grouped_labels | legend | matched <= labels, (panel["title"], target["expr"])
            used |= {served[n][0] for n in names}
    assert used == families, families - used  # every metric has a panel
