"""docker-compose.yml: valid for Docker Compose itself, secrets fail fast, startup order, limits."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml

from skinguard_contracts.privileges import ACCESS
from skinguard_devstack.privilege_files import privilege_files

from .tools import DEPLOY, REPO, clean_env, compose_binary, run

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
# One-off steps: they run to completion and are never restarted.
# Schema migrations, in the order they must run: one at a time (Alembic takes no lock).
MIGRATIONS = ("migrate-ingestion", "migrate-annotation", "migrate-gateway")
ONE_OFF = {"minio-setup", *MIGRATIONS, "database-roles", "models-init"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def compose(*args: str, env_file: Path = ENV_EXAMPLE):
    command = [compose_binary(), "--file", COMPOSE_FILE, "--project-directory", REPO, "--env-file", env_file, *args]
    return run(command, env=clean_env())


@pytest.fixture(scope="module")
def config() -> dict:
    """``docker compose config`` with every profile, fed only by .env.example."""
    result = compose("--profile", "prometheus", "config", "--format", "json")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


def required_variables() -> list[str]:
    return sorted(set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text())))


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^\w+=", line))
    return dict(pairs)


def test_config_is_valid_with_env_example(config: dict) -> None:
    expected = {
        "postgres", "redis", "minio", "minio-setup", "migrate-ingestion", "migrate-annotation",
        "migrate-gateway", "database-roles", "ingestion", "annotation", "training", "models-init", "model-sync",
        "serving",
        "gateway", "webapp", "nginx", "prometheus",
    }  # fmt: skip
    assert set(config["services"]) == expected
    assert config["services"]["prometheus"]["profiles"] == ["prometheus"]


def test_env_example_lists_every_required_variable() -> None:
    missing = [name for name in required_variables() if not env_example().get(name)]
    assert required_variables(), "compose should require its secrets with ${VAR:?message}"
    assert not missing, f".env.example lacks {missing}"


@pytest.mark.parametrize("variable", required_variables())
def test_a_missing_secret_stops_compose(variable: str, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env_example().items() if k != variable))
    result = compose("config", "--quiet", env_file=env_file)
    assert result.returncode != 0
    assert variable in result.stderr


def test_no_secret_is_written_into_the_file() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            # An S3 access key is the user's name (its secret key is the secret).
            if re.search(r"PASSWORD|SECRET|_KEY$|DATABASE_URL|REDIS_URL", key) and not key.endswith("ACCESS_KEY"):
                assert "${" in str(value), f"{name}: {key} must come from the environment"


def test_restart_policies_and_healthchecks(config: dict) -> None:
    for name, service in config["services"].items():
        if name in ONE_OFF:
            assert service.get("restart") == "no", name
        else:
            assert service.get("restart") == "unless-stopped", name
        if name not in ONE_OFF:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_startup_waits_for_health_and_completed_steps(config: dict) -> None:
    # The gateway must answer 503 before any model exists; the mobile API must not wait for the web app.
    started_only = {("gateway", "serving"), ("nginx", "webapp")}
    for name, service in config["services"].items():
        for dependency, condition in service.get("depends_on", {}).items():
            expected = (
                "service_started"
                if (name, dependency) in started_only
                else "service_completed_successfully"
                if dependency in ONE_OFF
                else "service_healthy"
            )
            assert condition["condition"] == expected, f"{name} -> {dependency}"


def test_migrations_run_once_in_order(config: dict) -> None:
    services = config["services"]
    # A chain: each migration waits for the one before it and for nothing else but PostgreSQL.
    previous = "postgres"
    for migration in MIGRATIONS:
        service = services[migration]
        assert service["command"] == ["migrate"], migration
        assert set(service["depends_on"]) == {previous}, migration
        previous = migration
    # Each service's schema is migrated by its own image, as the owner; the roles and grants
    # come after the last migration, and every service waits for them.
    for name in ("ingestion", "annotation", "gateway"):
        assert services[f"migrate-{name}"]["image"] == services[name]["image"], name
    assert set(services["database-roles"]["depends_on"]) == {MIGRATIONS[-1]}
    for name in ("ingestion", "annotation", "training", "gateway"):
        assert "database-roles" in services[name]["depends_on"], name


def test_gateway_has_its_database_s3_redis_and_serving(config: dict) -> None:
    services = config["services"]
    gateway = services["gateway"]["environment"]
    ingestion = services["ingestion"]["environment"]
    # PostgreSQL (prediction_log, prediction_feedback), migrated by migrate-gateway first.
    assert gateway["SKINGUARD_DATABASE_URL"].startswith("postgresql+asyncpg://skinguard_gateway:")
    assert services["gateway"]["depends_on"]["database-roles"]["condition"] == "service_completed_successfully"
    # S3 as the other services reach it, as its own user: models/<name>/<version>/metadata.json.
    for key in ("ENDPOINT_URL", "BUCKET"):
        assert gateway[f"SKINGUARD_S3_{key}"] == ingestion[f"SKINGUARD_S3_{key}"], key
    assert gateway["SKINGUARD_S3_ACCESS_KEY"] == "skinguard-gateway"
    assert "minio-setup" in services["gateway"]["depends_on"]  # its S3 user exists
    # It never handles patient ids or presigned URLs.
    assert "SKINGUARD_PSEUDONYM_KEY" not in gateway and "SKINGUARD_S3_PUBLIC_ENDPOINT_URL" not in gateway
    assert gateway["SKINGUARD_REDIS_URL"] == services["annotation"]["environment"]["SKINGUARD_REDIS_URL"]
    host, port = gateway["SKINGUARD_SERVING_TARGET"].removeprefix("dns:///").rsplit(":", 1)
    assert host == "serving" and port == "8500"
    # Migrations get the database and nothing else; only ingestion holds the pseudonym key.
    for name in ("migrate-ingestion", "migrate-annotation", "migrate-gateway"):
        migration = services[name]["environment"]
        assert "SKINGUARD_DATABASE_URL" in migration
        assert not {"SKINGUARD_S3_SECRET_KEY", "SKINGUARD_PSEUDONYM_KEY", "SKINGUARD_REDIS_URL"} & set(migration), name
    holders = {
        name for name, service in services.items() if "SKINGUARD_PSEUDONYM_KEY" in service.get("environment", {})
    }
    assert holders == {"ingestion"}


def test_each_service_runs_as_its_own_database_role_and_s3_user(config: dict) -> None:
    services = config["services"]
    compose_names = {"training-worker": "training"}
    owner = services["migrate-ingestion"]["environment"]["SKINGUARD_DATABASE_URL"]
    for service, access in ACCESS.items():
        environment = services.get(compose_names.get(service, service), {}).get("environment", {})
        url = environment.get("SKINGUARD_DATABASE_URL")
        if access.database_role:
            assert url and url != owner and url.startswith(f"postgresql+asyncpg://{access.database_role}:"), service
        else:
            assert url is None, service
        assert environment.get("SKINGUARD_S3_ACCESS_KEY") == access.s3_identity, service
    # The scripts that make them read the committed privilege files, and those are current.
    for step in ("database-roles", "minio-setup"):
        assert any(m["target"] == "/privileges" for m in services[step]["volumes"]), step
    committed = {path.name: path.read_text() for path in (DEPLOY / "privileges").iterdir()}
    assert committed == privilege_files(), "run: .venv/bin/skinguard-dev privileges deploy/privileges"
    setup = (DEPLOY / "minio" / "minio-setup.sh").read_text()
    roles = (DEPLOY / "postgres" / "roles.sh").read_text()
    for access in ACCESS.values():
        assert access.s3_identity is None or f"service_user {access.s3_identity} " in setup
        assert access.database_role is None or f"login_role {access.database_role} " in roles


def test_webapp_has_redis_and_the_services_public_apis_only(config: dict) -> None:
    services = config["services"]
    webapp = services["webapp"]
    environment = webapp["environment"]
    # Sessions in Redis, as the other services reach it; no database, bucket or service secret.
    assert environment["SKINGUARD_REDIS_URL"] == services["annotation"]["environment"]["SKINGUARD_REDIS_URL"]
    assert not [key for key in environment if re.match(r"SKINGUARD_(DATABASE|S3|PSEUDONYM|FEEDBACK)_", key)]
    # The services' internal addresses, on the ports their own healthchecks probe.
    for name in ("annotation", "ingestion", "gateway"):
        port = re.search(r"127\.0\.0\.1:(\d+)/", " ".join(services[name]["healthcheck"]["test"])).group(1)
        assert environment[f"SKINGUARD_{name.upper()}_URL"] == f"http://{name}:{port}", name
        assert webapp["depends_on"][name]["condition"] == "service_healthy", name
    assert webapp["depends_on"]["redis"]["condition"] == "service_healthy"
    # Behind nginx's TLS only: Secure cookies, no port of its own, forwarded headers from nginx.
    assert environment["SKINGUARD_SECURE_COOKIES"] == "true"
    assert not webapp.get("ports")
    assert environment["FORWARDED_ALLOW_IPS"] == services["nginx"]["networks"]["default"]["ipv4_address"]
    # The port the image's script listens on (its default) is the one its healthcheck and nginx use.
    from skinguard_webapp.settings import WebAppSettings

    port = WebAppSettings.model_fields["webapp_port"].default
    assert "SKINGUARD_WEBAPP_PORT" not in environment
    assert f"127.0.0.1:{port}/readyz" in " ".join(webapp["healthcheck"]["test"])
    assert f"set $webapp http://webapp:{port};" in (DEPLOY / "nginx" / "skinguard.conf").read_text()
    # Hardened and run as the image's user like every SkinGuard container.
    assert webapp["read_only"] is True and webapp["cap_drop"] == ["ALL"] and "user" not in webapp
    assert services["nginx"]["depends_on"]["webapp"]["condition"] == "service_started"  # 443 does not wait for it


def test_gateway_is_healthy_without_a_model(config: dict) -> None:
    # nginx waits for the gateway's health: it must not wait for a model (/readyz would), so that
    # the gateway's JSON 503s and /health ("degraded") reach clients until one is promoted.
    probe = " ".join(config["services"]["gateway"]["healthcheck"]["test"])
    assert "127.0.0.1:8000/healthz" in probe and "/readyz" not in probe
    assert config["services"]["nginx"]["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_state_lives_in_named_volumes(config: dict) -> None:
    services = config["services"]
    mounts = {
        (name, volume["target"]): volume["source"]
        for name, service in services.items()
        for volume in service.get("volumes", [])
        if volume["type"] == "volume"
    }
    assert mounts[("postgres", "/var/lib/postgresql/data")] == "postgres-data"
    assert mounts[("minio", "/data")] == "minio-data"
    assert mounts[("redis", "/data")] == "redis-data"
    # model-sync writes the model repository that serving reads.
    assert mounts[("model-sync", "/models")] == mounts[("serving", "/models")] == "models"
    serving_models = next(v for v in services["serving"]["volumes"] if v["target"] == "/models")
    assert serving_models.get("read_only") is True


def test_serving_uses_the_deploy_serving_files(config: dict) -> None:
    serving = config["services"]["serving"]
    assert serving["image"].startswith("tensorflow/serving:") and not serving["image"].endswith(":latest")
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in serving["command"])
    assert flags["port"] == "8500" and flags["rest_api_port"] == "8501"
    assert flags["enable_batching"] == "true"
    bind_sources = {Path(v["source"]).relative_to(REPO) for v in serving["volumes"] if v["type"] == "bind"}
    assert bind_sources == {Path("deploy/serving/batching_parameters.txt"), Path("deploy/serving/monitoring.config")}
    for source in bind_sources:
        assert (REPO / source).is_file(), source
    # model-sync and the server must agree on how often the config is re-read.
    sync_env = config["services"]["model-sync"]["environment"]
    assert sync_env["SKINGUARD_MODEL_CONFIG_FILE_POLL_WAIT_SECONDS"] == flags["model_config_file_poll_wait_seconds"]
    assert sync_env["SKINGUARD_MODEL_CONFIG_FILE"] == flags["model_config_file"]


def test_serving_health_means_model_available(config: dict) -> None:
    probe = " ".join(config["services"]["serving"]["healthcheck"]["test"])
    model = re.search(r'name:\s*"([^"]+)"', (DEPLOY / "serving" / "models.config").read_text()).group(1)
    assert f"/v1/models/{model}" in probe and '"AVAILABLE"' in probe


def _server_blocks(conf: str) -> dict[str, str]:
    """``listen`` port -> the text of its ``server { }`` block (blocks hold no nested braces but location)."""
    blocks = {}
    for match in re.finditer(r"server\s*\{(.*?)\n\}", conf, re.S):
        port = re.search(r"listen\s+(\d+)", match.group(1)).group(1)
        blocks[port] = match.group(1)
    return blocks


def _size(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def test_nginx_terminates_tls_and_limits_uploads(config: dict) -> None:
    conf = (DEPLOY / "nginx" / "skinguard.conf").read_text()
    blocks = _server_blocks(conf)
    gateway, ingestion = blocks["8443"], blocks["8001"]
    assert "ssl" in re.search(r"listen\s+8443[^;]*", gateway).group(0)
    gateway_limit = _size(re.search(r"client_max_body_size\s+(\w+);", gateway).group(1))
    # Room for a 10 MiB photo base64-encoded in JSON (/predict_base64), but not much beyond.
    assert math.ceil(MAX_UPLOAD_BYTES * 4 / 3) < gateway_limit <= 16 * 1024**2
    ingestion_limit = _size(re.search(r"client_max_body_size\s+(\w+);", ingestion).group(1))
    assert MAX_UPLOAD_BYTES < ingestion_limit <= 12 * 1024**2
    assert "proxy_pass $gateway" in gateway
    # Operations endpoints are not served from outside.
    for block in (gateway, blocks["8444"]):
        for path in ("/metrics", "/readyz"):
            assert re.search(rf"location = {path} \{{ return 404; \}}", block), path
    nginx = config["services"]["nginx"]
    certs = next(v for v in nginx["volumes"] if v["target"] == "/etc/nginx/certs")
    assert Path(certs["source"]) == DEPLOY / "nginx" / "certs" and certs["read_only"]
    ignored = (DEPLOY / "nginx" / "certs" / ".gitignore").read_text().split()
    assert "*" in ignored, "private keys in deploy/nginx/certs must never be committed"


def test_nginx_serves_the_webapp_behind_tls(config: dict) -> None:
    webapp = _server_blocks((DEPLOY / "nginx" / "skinguard.conf").read_text())["8444"]
    assert "ssl" in re.search(r"listen\s+8444[^;]*", webapp).group(0)
    # A 10 MiB photo with its multipart framing and form fields (the app itself allows 11 MiB).
    limit = _size(re.search(r"client_max_body_size\s+(\w+);", webapp).group(1))
    assert MAX_UPLOAD_BYTES < limit <= 12 * 1024**2
    assert "proxy_pass $webapp" in webapp
    # The web app checks a write's Origin (https://host:8444) against Host, so Host keeps the port;
    # and a location that sets one header must set them all (nginx inherits none then).
    assert re.search(r"proxy_set_header\s+Host\s+\$http_host;", webapp)
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID", "Connection"):
        assert re.search(rf"proxy_set_header\s+{header}\s", webapp), header
    # Published like the gateway's TLS port.
    published = {(port["published"], port["target"]) for port in config["services"]["nginx"]["ports"]}
    assert ("8444", 8444) in published


def test_prometheus_scrapes_every_metrics_endpoint() -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    jobs = {job["job_name"]: job for job in scrape}
    services = ("gateway", "ingestion", "annotation", "webapp", "serving")
    ports = {name: jobs[name]["dns_sd_configs"][0]["port"] for name in services}
    assert ports == {"gateway": 8000, "ingestion": 8001, "annotation": 8002, "webapp": 8003, "serving": 8501}
    monitoring = (DEPLOY / "serving" / "monitoring.config").read_text()
    assert jobs["serving"]["metrics_path"] == re.search(r'path:\s*"([^"]+)"', monitoring).group(1)
