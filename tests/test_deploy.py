"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_runs_workers_the_web_view_postgres_and_a_mail_catcher() -> None:
    services = _compose()["services"]
    assert set(services) == {"worker", "web", "postgres", "mailcatcher"}
    user = services["postgres"]["environment"]["POSTGRES_USER"]
    db = services["postgres"]["environment"]["POSTGRES_DB"]
    for name in ("worker", "web"):
        monitor = services[name]
        assert monitor["build"] == "."
        assert monitor["depends_on"]["postgres"]["condition"] == "service_healthy"
        url = monitor["environment"]["MONITOR_DATABASE_URL"]
        # Both reach PostgreSQL by its service name, as the user and database it creates.
        assert re.match(rf"postgresql\+psycopg://{user}:[^@]+@postgres:5432/{db}$", url), url
        config_mount = monitor["volumes"][0].split(":")
        assert config_mount[0] == "./sources.yaml" and (ROOT / "sources.yaml").is_file()
        assert monitor["environment"]["MONITOR_CONFIG"] == config_mount[1]


def test_compose_scales_workers_and_serves_the_web_view_alone() -> None:
    services = _compose()["services"]
    worker, web = services["worker"], services["web"]
    assert worker["command"][0] == "worker" and "ports" not in worker
    # N workers: deploy.replicas, from MONITOR_WORKERS (2 unless set).
    assert str(worker["deploy"]["replicas"]) == "${MONITOR_WORKERS:-2}"
    queues = worker["command"][worker["command"].index("--queues") + 1].split(",")
    assert set(queues) == {"poll", "deliver", "maint"}
    # Workers serve no HTTP, so the image's /healthz check is off for them only.
    assert worker["healthcheck"] == {"disable": True} and "healthcheck" not in web
    # One web view (never scaled: it polls and sends nothing), with its token required.
    assert web["command"][:1] == ["web"] and "deploy" not in web
    assert web["ports"] == ["127.0.0.1:9100:9100"]
    assert web["environment"]["MONITOR_HTTP_TOKEN"].startswith("${MONITOR_HTTP_TOKEN:?")


def test_postgres_has_a_volume_and_a_healthcheck() -> None:
    compose = _compose()
    pg = compose["services"]["postgres"]
    volume = pg["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in compose["volumes"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])


def test_dockerfile_installs_with_uv_runs_as_non_root_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in text
    user = re.search(r"^USER (\S+)", text, re.M)
    assert user and user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*healthz", text, re.M)
    assert re.search(r'^CMD \["run"', text, re.M) and 'ENTRYPOINT ["monitor"]' in text
    # Every path the image copies exists in the repository.
    for line in re.findall(r"^COPY (?!--)(.+) \S+$", text, re.M):
        for path in line.split():
            assert (ROOT / path).exists(), path
