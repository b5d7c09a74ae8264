"""deploy/k8s: both overlays render with kustomize and every manifest is valid (strict schemas).

Beyond the schemas: hardening, probes, autoscaling, network exposure and secret references.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from .tools import DEPLOY, K8S, kustomize_command, run

OVERLAYS = ("dev", "prod")
# Oldest and newest API versions checked: 1.30 is the first where everything used here is on by
# default (native sidecar containers, HPA ContainerResource metrics).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
WORKLOADS = ("Deployment", "Job")
SERVING_FILES = ("models.config", "batching_parameters.txt", "monitoring.config")
NAMESPACES = {"dev": "skinguard-dev", "prod": "skinguard"}
# Least privilege: the keys of skinguard-secrets each container gets, (workload, container) -> keys.
DB, REDIS, S3_ID, S3_SECRET, PSEUDONYM, FEEDBACK = (
    "SKINGUARD_DATABASE_URL", "SKINGUARD_REDIS_URL", "SKINGUARD_S3_ACCESS_KEY", "SKINGUARD_S3_SECRET_KEY",
    "SKINGUARD_PSEUDONYM_KEY", "SKINGUARD_FEEDBACK_KEY",
)  # fmt: skip


def own(service: str) -> set[str]:
    """A service's own database URL and S3 secret key (its role and user: deploy/privileges)."""
    return {f"{service}_DATABASE_URL", f"{service}_S3_SECRET_KEY"}


ROLE_PASSWORDS = {f"{service}_DATABASE_PASSWORD" for service in ("INGESTION", "ANNOTATION", "WORKER", "GATEWAY")}
SECRET_KEYS = {
    ("ingestion", "ingestion"): {*own("INGESTION"), PSEUDONYM},
    # Only ingestion ever sees a raw patient id, so only it holds the pseudonym key.
    ("annotation", "annotation"): {*own("ANNOTATION"), REDIS},
    ("training-worker", "worker"): {*own("WORKER"), REDIS},
    ("serving", "model-sync"): {"MODEL_SYNC_S3_SECRET_KEY"},
    # Prediction log and feedback, model metadata in S3, cache, the feedback-token key.
    ("gateway", "gateway"): {*own("GATEWAY"), REDIS, FEEDBACK},
    # Sessions only: it calls the services' public APIs with each person's own API key.
    ("webapp", "webapp"): {REDIS},
    # `migrate` needs (and is checked for) the owner's database URL only; the last step makes
    # the services' roles.
    ("migrate", "ingestion"): {DB},
    ("migrate", "annotation"): {DB},
    ("migrate", "gateway"): {DB},
    ("migrate", "database-roles"): {DB, *ROLE_PASSWORDS},
}


def render(directory: Path) -> list[dict]:
    result = run([*kustomize_command(), directory])
    assert result.returncode == 0, f"kustomize failed for {directory}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:
    return request.param, render(K8S / "overlays" / request.param)


@pytest.fixture(scope="module")
def dev() -> list[dict]:
    return render(K8S / "overlays" / "dev")


@pytest.fixture(scope="module")
def prod() -> list[dict]:
    return render(K8S / "overlays" / "prod")


def named(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_specs(docs: list[dict]) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc["spec"]["template"]["spec"] for doc in docs if doc["kind"] in WORKLOADS}


def containers(spec: dict) -> list[dict]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def app_secret(ref: dict) -> bool:
    """A reference to skinguard-secrets (in dev with the hash suffix kustomize's generator adds)."""
    return re.fullmatch(r"skinguard-secrets(-[a-z0-9]+)?", ref.get("name", "")) is not None


def pod_labels(docs: list[dict]) -> dict[str, dict]:
    workloads = (doc for doc in docs if doc["kind"] in WORKLOADS)
    return {doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"] for doc in workloads}


def test_every_manifest_validates_strictly(overlay: tuple[str, list[dict]]) -> None:
    name, docs = overlay
    failures = []
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(part) for part in error.path)
                failures.append(f"{version} {doc['kind']}/{doc['metadata']['name']} at {where}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                failures.append(f"{version} {doc['kind']} is not a core kind: the {name} overlay must not need CRDs")
    assert not failures, "\n".join(failures)


def test_one_namespace_per_overlay(overlay: tuple[str, list[dict]]) -> None:
    name, docs = overlay
    namespace = NAMESPACES[name]
    labels = named(docs, "Namespace")[namespace]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {namespace}


def test_every_service_is_deployed(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    deployments = named(docs, "Deployment")
    assert {"ingestion", "annotation", "gateway", "webapp", "serving", "training-worker"} <= set(deployments)
    services = named(docs, "Service")
    for name in ("ingestion", "annotation", "gateway", "webapp", "serving"):
        assert services[name]["spec"]["selector"] == deployments[name]["spec"]["selector"]["matchLabels"]
    init = deployments["serving"]["spec"]["template"]["spec"]["initContainers"]
    sidecar = next(c for c in init if c["name"] == "model-sync")
    assert sidecar["restartPolicy"] == "Always" and "livenessProbe" in sidecar


def test_workloads_are_hardened(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    for name, spec in pod_specs(docs).items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for container in containers(spec):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where} {bound}"
            image = container["image"]
            assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), f"{where} image {image} unpinned"


def test_long_running_containers_have_probes(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    for name, deployment in named(docs, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, f"{name}/{container['name']}"


def test_serving_is_ready_only_with_a_model_available(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    serving = named(docs, "Deployment")["serving"]["spec"]["template"]["spec"]
    server = next(c for c in serving["containers"] if c["name"] == "serving")
    model = re.search(r'name:\s*"([^"]+)"', (DEPLOY / "serving" / "models.config").read_text()).group(1)
    for probe in ("readinessProbe", "startupProbe"):
        script = " ".join(server[probe]["exec"]["command"])
        assert f"GET /v1/models/{model} " in script and "'\"AVAILABLE\"'" in script, probe
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in server["args"])
    assert flags["model_config_file"] == "/models/models.config"
    sync = next(c for c in serving["initContainers"] if c["name"] == "model-sync")
    sync_env = {item["name"]: item.get("value") for item in sync["env"]}
    assert sync_env["SKINGUARD_MODEL_CONFIG_FILE_POLL_WAIT_SECONDS"] == flags["model_config_file_poll_wait_seconds"]
    assert sync_env["SKINGUARD_SYNC_SERVING_ADDRESS"] == f"127.0.0.1:{flags['port']}"
    cpus = int(server["resources"]["limits"]["cpu"])
    assert int(flags["tensorflow_intra_op_parallelism"]) == int(flags["tensorflow_inter_op_parallelism"]) == cpus
    # model-sync and the server share the pod's own model volume (a per-pod claim).
    assert "volumeClaimTemplate" in next(v for v in serving["volumes"] if v["name"] == "models")["ephemeral"]


def test_serving_configmap_copies_match_deploy_serving() -> None:
    for name in SERVING_FILES:
        copy = K8S / "base" / "serving" / name
        assert copy.read_text() == (DEPLOY / "serving" / name).read_text(), (
            f"{copy.relative_to(DEPLOY.parent)} drifted from deploy/serving/{name}: copy it again"
        )


def test_gateway_and_serving_autoscale(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    deployments = named(docs, "Deployment")
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in named(docs, "HorizontalPodAutoscaler").values()}
    assert targets == {"gateway", "serving"}
    assert targets <= set(deployments)


def test_migrations_run_in_order_in_one_job(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    job = named(docs, "Job")["migrate"]["spec"]["template"]["spec"]
    steps = [(c["image"].rsplit("/", 1)[-1].split(":")[0], c["args"]) for c in job["initContainers"]]
    assert steps == [("ingestion", ["migrate"]), ("annotation", ["migrate"]), ("gateway", ["migrate"])]
    # One after the other: every step but the last is a plain init container (no sidecar).
    assert all("restartPolicy" not in c for c in job["initContainers"])
    # Each step runs its service's own image.
    deployments = {name: spec["containers"][0]["image"] for name, spec in pod_specs(docs).items()}
    for container in job["initContainers"]:
        assert container["image"] == deployments[container["name"]], container["name"]
    # Last, once every table exists: the services' roles, by the script compose runs.
    [roles] = job["containers"]
    assert roles["name"] == "database-roles" and roles["command"] == ["/bin/sh", "/setup/roles.sh"]
    mounts = {mount["mountPath"] for mount in roles["volumeMounts"]}
    assert mounts == {"/setup", "/privileges"}


def test_each_container_gets_only_the_secret_keys_it_needs(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    granted = {
        (name, container["name"]): {
            item["valueFrom"]["secretKeyRef"]["key"]
            for item in container.get("env", [])
            if app_secret(item.get("valueFrom", {}).get("secretKeyRef", {}))
        }
        for name, spec in pod_specs(docs).items()
        for container in containers(spec)
    }
    granted = {where: keys for where, keys in granted.items() if keys}
    assert granted == SECRET_KEYS


def test_gateway_has_its_database_s3_and_serving(overlay: tuple[str, list[dict]]) -> None:
    name, docs = overlay
    specs = pod_specs(docs)
    gateway = specs["gateway"]["containers"][0]
    env = {item["name"]: item for item in gateway["env"]}
    reference = env[DB]["valueFrom"]["secretKeyRef"]
    assert app_secret(reference) and reference["key"] == "GATEWAY_DATABASE_URL"  # its own role
    assert env[S3_ID]["value"] == "skinguard-gateway"  # its own S3 user, read models/ only
    # Its role is one the migration Job's last step makes.
    roles = {item["name"] for item in specs["migrate"]["containers"][0]["env"]}
    assert "GATEWAY_DATABASE_PASSWORD" in roles
    # Bucket, region or endpoint and the serving target come from the shared ConfigMap.
    config_name = gateway["envFrom"][0]["configMapRef"]["name"]
    config = named(docs, "ConfigMap")[config_name]["data"]
    assert config["SKINGUARD_S3_BUCKET"]
    if name == "dev":
        assert config["SKINGUARD_S3_ENDPOINT_URL"] == "http://minio:9000"
    # gRPC's DNS resolver on the headless Service: every ready serving pod, spread by round_robin.
    target = re.fullmatch(r"dns:///([\w.-]+):(\d+)", config["SKINGUARD_SERVING_TARGET"])
    assert target, config["SKINGUARD_SERVING_TARGET"]
    host, port = target.groups()
    assert host == f"serving-grpc.{NAMESPACES[name]}.svc.cluster.local"
    service = named(docs, "Service")["serving-grpc"]["spec"]
    assert service["clusterIP"] == "None"
    assert service["selector"] == named(docs, "Deployment")["serving"]["spec"]["selector"]["matchLabels"]
    assert [p["port"] for p in service["ports"]] == [int(port)]
    assert service.get("publishNotReadyAddresses") is not True  # only pods with the model AVAILABLE
    # Servers close connections now and then, so the gateways re-resolve and find new replicas.
    server = next(c for c in specs["serving"]["containers"] if c["name"] == "serving")
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in server["args"])
    assert flags["port"] == port
    assert "grpc.max_connection_age_ms=" in flags["grpc_channel_arguments"]


def test_gateway_stays_ready_without_a_model(overlay: tuple[str, list[dict]]) -> None:
    # /readyz fails until a model version is AVAILABLE (and while the database is down), for every
    # replica at once; the gateway answers 503 itself meanwhile, so it stays in the Service.
    _, docs = overlay
    gateway = pod_specs(docs)["gateway"]["containers"][0]
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "startupProbe" not in gateway


def ingress_paths(ingress: dict) -> dict[str, tuple[str | None, str]]:
    """path -> (host, backend Service) of one Ingress."""
    return {
        path["path"]: (rule.get("host"), path["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }


def routed(ingress: dict, url_path: str) -> bool:
    """Whether the Ingress sends ``url_path`` anywhere (Kubernetes' Exact and Prefix semantics)."""
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            prefix = path["path"].rstrip("/")
            if url_path == path["path"] or (
                path["pathType"] == "Prefix" and (url_path == prefix or url_path.startswith(prefix + "/"))
            ):
                return True
    return False


def webapp_urls() -> list[str]:
    """A URL for every route of the web app: its pages (one per screen), sessions, API front, static files."""
    from skinguard_webapp import pages, session_routes
    from skinguard_webapp.screens import SCREENS

    urls = ["/static/index.html"]  # the StaticFiles mount (app.py)
    for router in (pages.router, session_routes.router):
        for route in router.routes:
            if route.path.startswith("/{screen}"):
                urls += [route.path.replace("{screen}", screen.path) for screen in SCREENS]
            else:
                urls.append(route.path)
    return [re.sub(r"\{rest:path\}", "a/b", re.sub(r"\{\w+\}", "x", url)) for url in urls]


OPERATIONS = ("/metrics", "/readyz", "/healthz", "/docs", "/openapi.json")


def test_only_the_gateway_and_the_webapp_are_exposed(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    ingresses = named(docs, "Ingress")
    assert set(ingresses) == {"gateway", "webapp"}
    # The mobile API, on any host: its public endpoints only.
    gateway = ingress_paths(ingresses["gateway"])
    assert set(gateway) == {"/predict", "/predict_base64", "/feedback", "/health", "/monitoring"}
    assert set(gateway.values()) == {(None, "gateway")}
    # The web app on a host of its own (its /monitoring is a page, the gateway's an API), every one
    # of its routes and none of the operations endpoints; TLS for that host too.
    webapp = ingresses["webapp"]
    [(host, backend)] = set(ingress_paths(webapp).values())
    assert host and backend == "webapp"
    missing = [url for url in webapp_urls() if not routed(webapp, url)]
    assert not missing, f"the webapp Ingress does not route {missing}"
    for ingress in ingresses.values():
        assert not [url for url in OPERATIONS if routed(ingress, url)], ingress["metadata"]["name"]
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
        [tls] = ingress["spec"]["tls"]
        assert tls["secretName"] == "skinguard-tls"
    assert webapp["spec"]["tls"][0]["hosts"] == [host]
    size = webapp["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert 10 < int(size.removesuffix("m")) <= 12, "a 10 MiB photo with its form fields, not much more"
    assert all(service["spec"].get("type", "ClusterIP") == "ClusterIP" for service in named(docs, "Service").values())
    policies = named(docs, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    exposed = [{"matchLabels": {"app.kubernetes.io/name": name}} for name in ("gateway", "webapp")]
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if namespace == "ingress-nginx":
                    assert policy["spec"]["podSelector"] in exposed, name
                else:
                    assert namespace in (None, "monitoring"), f"{name} admits namespace {namespace}"
                    assert "ipBlock" not in peer, name


def test_only_the_services_that_need_them_reach_datastores(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    labels = pod_labels(docs)
    clients = {
        store: {name for name, pod in labels.items() if pod.get(f"skinguard.io/{store}") == "client"}
        for store in ("postgres", "s3", "redis")
    }
    extra_s3 = {"minio-setup"} if "minio" in named(docs, "Deployment") else set()
    assert clients["postgres"] == {"ingestion", "annotation", "training-worker", "gateway", "migrate"}
    assert clients["s3"] == {"ingestion", "annotation", "training-worker", "serving", "gateway", *extra_s3}
    assert clients["redis"] == {"annotation", "training-worker", "gateway", "webapp"}
    policies = named(docs, "NetworkPolicy")
    for store, ports in (("postgres", [5432]), ("redis", [6379]), ("s3", [443, 9000])):
        egress = policies[f"{store}-clients"]["spec"]
        assert egress["podSelector"] == {"matchLabels": {f"skinguard.io/{store}": "client"}}
        assert [p["port"] for rule in egress["egress"] for p in rule["ports"]] == ports
        assert all("to" not in rule for rule in egress["egress"])  # ports only: managed services too


def selects(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are understood here: {selector}"
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def peer_name(peer: dict) -> str:
    if "namespaceSelector" in peer:
        assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}, peer
        return "kube-dns"
    return peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]


def egress_of(docs: list[dict], labels: dict) -> set[tuple[str, int]]:
    """(peer, port) for every egress the policies allow pods with these labels; peer "*" is anywhere."""
    allowed = set()
    for policy in named(docs, "NetworkPolicy").values():
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            peers = [peer_name(peer) for peer in rule.get("to", [])] or ["*"]
            allowed |= {(peer, port["port"]) for peer in peers for port in rule["ports"]}
    return allowed


def test_the_gateway_reaches_exactly_what_it_needs(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    labels = pod_labels(docs)
    assert egress_of(docs, labels["gateway"]) == {
        ("kube-dns", 53),
        ("serving", 8500),
        ("*", 5432),  # PostgreSQL
        ("*", 443),  # S3
        ("*", 9000),  # MinIO
        ("*", 6379),  # Redis
    }
    # Serving, in turn, admits only the gateway (on gRPC), besides Prometheus.
    serving = named(docs, "NetworkPolicy")["serving"]["spec"]
    assert [peer["podSelector"] for rule in serving["ingress"] for peer in rule["from"]] == [
        {"matchLabels": {"app.kubernetes.io/name": "gateway"}}
    ]


def ingress_of(docs: list[dict], labels: dict) -> set[tuple[str, int]]:
    """(peer, port) for every ingress the policies admit to pods with these labels (pod peers only)."""
    admitted = set()
    for policy in named(docs, "NetworkPolicy").values():
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            peers = [
                peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name")
                for peer in rule["from"]
                if "podSelector" in peer and "namespaceSelector" not in peer  # pods of this namespace
            ]
            admitted |= {(peer, port["port"]) for peer in peers if peer for port in rule["ports"]}
    return admitted


def test_the_webapp_reaches_exactly_what_it_needs(overlay: tuple[str, list[dict]]) -> None:
    _, docs = overlay
    labels = pod_labels(docs)
    webapp = pod_specs(docs)["webapp"]["containers"][0]
    env = {item["name"]: item.get("value") for item in webapp["env"]}
    services = named(docs, "Service")
    # The public HTTP APIs, at their Services' ports; the policies let exactly those calls through,
    # both ways (default-deny holds on either side), and Redis for the sessions.
    upstreams = set()
    for name in ("annotation", "ingestion", "gateway"):
        url = re.fullmatch(r"http://([\w-]+):(\d+)", env[f"SKINGUARD_{name.upper()}_URL"])
        assert url and url.group(1) == name, env[f"SKINGUARD_{name.upper()}_URL"]
        port = int(url.group(2))
        assert port in [p["port"] for p in services[name]["spec"]["ports"]], name
        upstreams.add((name, port))
        assert ("webapp", port) in ingress_of(docs, labels[name]), f"{name} does not admit the web app"
    assert egress_of(docs, labels["webapp"]) == {("kube-dns", 53), ("*", 6379), *upstreams}
    # Behind the Ingress's TLS: Secure cookies; it listens where its Service and probes point.
    from skinguard_webapp.settings import WebAppSettings

    assert env["SKINGUARD_SECURE_COOKIES"] == "true"
    assert "SKINGUARD_WEBAPP_PORT" not in env
    [port] = webapp["ports"]
    assert port["containerPort"] == WebAppSettings.model_fields["webapp_port"].default
    assert webapp["readinessProbe"]["httpGet"]["path"] == "/readyz"  # Redis answers
    assert webapp["livenessProbe"]["httpGet"]["path"] == "/healthz"
    prometheus = named(docs, "NetworkPolicy")["prometheus-scrapes"]["spec"]["ingress"][0]["ports"]
    assert port["containerPort"] in [p["port"] for p in prometheus]


def test_dev_datastores_admit_their_clients_only(dev: list[dict]) -> None:
    labels = pod_labels(dev)
    policies = named(dev, "NetworkPolicy")
    for store, label, port in (("postgres", "postgres", 5432), ("minio", "s3", 9000), ("redis", "redis", 6379)):
        spec = policies[store]["spec"]
        assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": store}}
        (rule,) = spec["ingress"]
        assert [p["port"] for p in rule["ports"]] == [port]
        admitted = {name for name, pod in labels.items() for peer in rule["from"] if selects(peer["podSelector"], pod)}
        expected = {name for name, pod in labels.items() if pod.get(f"skinguard.io/{label}") == "client"}
        assert admitted == expected and "gateway" in admitted, store


def test_secret_and_config_references_resolve_in_dev(dev: list[dict]) -> None:
    secrets = {name: set(doc.get("data", {})) for name, doc in named(dev, "Secret").items()}
    configmaps = set(named(dev, "ConfigMap"))
    for name, spec in pod_specs(dev).items():
        for container in containers(spec):
            for item in container.get("env", []):
                if ref := item.get("valueFrom", {}).get("secretKeyRef"):
                    assert ref["key"] in secrets.get(ref["name"], set()), f"{name}: {ref}"
            for source in container.get("envFrom", []):
                if ref := source.get("configMapRef"):
                    assert ref["name"] in configmaps, f"{name}: {ref}"
                if ref := source.get("secretRef"):
                    assert ref["name"] in secrets, f"{name}: {ref}"
        for volume in spec.get("volumes", []):
            if ref := volume.get("configMap"):
                assert ref["name"] in configmaps, f"{name}: {ref}"


def test_prod_generates_no_secrets(prod: list[dict]) -> None:
    assert not named(prod, "Secret"), "prod references existing Secrets; it must not ship any"
    referenced = {
        item["valueFrom"]["secretKeyRef"]["name"]
        for spec in pod_specs(prod).values()
        for container in containers(spec)
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    assert referenced == {"skinguard-secrets"}
    configmaps = named(prod, "ConfigMap")
    config = next(doc for name, doc in configmaps.items() if name.startswith("skinguard-config-"))
    assert config["data"]["SKINGUARD_ENV"] == "prod"


def test_keda_component_scales_the_worker(prod: list[dict], tmp_path: Path) -> None:
    # The component is optional; render prod with it the way an overlay would include it.
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "namespace": "skinguard",
                "resources": [os.path.relpath(K8S / "overlays" / "prod", tmp_path)],
                "components": [os.path.relpath(K8S / "components" / "keda", tmp_path)],
            }
        )
    )
    docs = render(tmp_path)
    keda = [doc for doc in docs if doc["apiVersion"].startswith("keda.sh/")]
    assert {doc["kind"] for doc in keda} == {"ScaledObject", "TriggerAuthentication"}
    scaled = named(keda, "ScaledObject")["training-worker"]
    assert scaled["spec"]["scaleTargetRef"]["name"] in named(docs, "Deployment")
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["authenticationRef"]["name"] in named(keda, "TriggerAuthentication")
    assert "training_jobs" in trigger["metadata"]["query"]
    # Everything else is exactly the prod overlay; and the overlays themselves need no KEDA.
    assert [doc for doc in docs if doc not in keda] == prod
    assert not [doc for doc in prod if doc["apiVersion"].startswith("keda.sh/")]
