"""The Compose stack (deploy/compose/): what the file promises, and its modelport service run
for real with podman exactly as Compose would start it, registering into PostgreSQL.

No compose tool runs here (no Docker daemon, no podman-compose) and the postgres, redis,
prometheus and grafana images cannot be pulled offline: those four services are checked by
reading the file; the test PostgreSQL server stands in for the postgres service.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
import sqlalchemy as sa
import yaml
from psycopg import sql

from modelport.config import RegistrySettings
from modelport.registry import Registry

from .podman import Container, podman

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose"
STACK = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
SERVICES: dict[str, Any] = STACK["services"]
LONG_RUNNING = ["postgres", "redis", "modelport", "prometheus", "grafana"]


def test_the_stack_has_every_service_with_healthchecks_and_named_volumes() -> None:
    assert set(SERVICES) == {*LONG_RUNNING, "modelport-cli"}
    declared = set(STACK["volumes"])
    used = set()
    for name in LONG_RUNNING:
        service = SERVICES[name]
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                used.add(source)
            else:  # a file or folder of the repository, mounted read-only
                assert (COMPOSE / source).exists(), source
                assert volume.endswith(":ro"), volume
    assert used == declared  # every store is a named volume: `down` + `up` keeps the data
    modelport = SERVICES["modelport"]
    assert modelport["command"][1:3] == ["--workers", "2"]
    assert modelport["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert modelport["read_only"] is True and modelport["cap_drop"] == ["ALL"]
    assert modelport["environment"]["MODELPORT_DATABASE_URL"].startswith(
        "postgresql+psycopg://modelport:${POSTGRES_PASSWORD")
    assert "8080:8080" in modelport["ports"] and "8081:8081" in modelport["ports"]


def test_prometheus_scrapes_modelport_with_the_alert_rules_and_grafana_has_the_dashboard() -> None:
    prometheus = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1)[::-1] for v in
                  SERVICES["prometheus"]["volumes"] if v.startswith("."))
    (rules,) = prometheus["rule_files"]
    assert mounts[rules] == "../monitoring/alerts.yml"
    assert "alert: ModelportHighErrorRate" in (COMPOSE / mounts[rules]).read_text()
    target = prometheus["scrape_configs"][0]["static_configs"][0]["targets"][0]
    assert target == "modelport:8080" and prometheus["scrape_configs"][0]["metrics_path"] == (
        "/metrics")
    grafana_mounts = dict(v.rsplit(":", 1)[0].split(":", 1)[::-1] for v in
                          SERVICES["grafana"]["volumes"] if v.startswith("."))
    provider = yaml.safe_load(
        (COMPOSE / "grafana/provisioning/dashboards/modelport.yml").read_text())
    folder = provider["providers"][0]["options"]["path"]
    (dashboard,) = [m for m in grafana_mounts if m.startswith(folder + "/")]
    assert grafana_mounts[dashboard] == "../monitoring/grafana-dashboard.json"
    source = yaml.safe_load(
        (COMPOSE / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR:?message}``."""
    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":-":
            return rest
        raise AssertionError(f"{name} unset: {rest}")
    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, standing in for the postgres service."""
    admin_url = os.environ.get("MODELPORT_TEST_PG_URL")
    if not admin_url:
        pytest.skip("MODELPORT_TEST_PG_URL is unset: scripts/test.sh starts PostgreSQL")
    admin = sa.make_url(admin_url)
    name = f"mp_compose_{uuid.uuid4().hex[:12]}"
    libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def test_the_modelport_service_registers_into_postgresql_and_survives_a_restart(
    server_image: str, home: Path, database: str, tmp_path: Path
) -> None:
    env = {"MODELPORT_IMAGE": server_image}
    volume = f"modelport-test-data-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(home / "fraud-1.json", models / "fraud.json")
    (models / "fraud.json").chmod(0o644)
    models.chmod(0o755)

    def environment(service: dict[str, Any]) -> list[str]:
        values = dict(service["environment"], MODELPORT_DATABASE_URL=database)
        return [a for k, v in values.items() for a in ("-e", f"{k}={v}")]

    cli = SERVICES["modelport-cli"]
    mounts = [volume + ":" + cli["volumes"][0].split(":", 1)[1], "-v",
              f"{models}:{cli['volumes'][1].split(':', 1)[1]}"]
    register = podman(
        "run", "--rm", "--network", "host", "--read-only", *environment(cli), "-v", *mounts,
        "--entrypoint", cli["entrypoint"][0], _substitute(cli["image"], env),
        "models", "register", "/models/fraud.json", "--name", "fraud", "--flavor", "xgboost",
        "--alias", "production", check=False)
    assert register.returncode == 0, register.stdout + register.stderr
    with Registry.open(RegistrySettings(home=tmp_path / "h", database_url=database)) as reg:
        info = reg.resolve("fraud@production")  # the row is in PostgreSQL
        assert info.artifact_uri.startswith("/var/lib/modelport/artifacts/")

    service = SERVICES["modelport"]
    options = (*environment(service), "-v",
               f"{volume}:{service['volumes'][0].split(':', 1)[1]}", "--tmpfs", "/tmp",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges")
    command = [_substitute(a, env) for a in service["command"]]
    container = Container(_substitute(service["image"], env), *command, options=options,
                          host_network=True)
    try:
        for attempt in range(2):  # the data (PostgreSQL + the named volume) survives a restart
            container.wait_ready()
            rows = {"inputs": [{"name": f"f{i}", "datatype": "FP32", "shape": [1],
                                "data": [0.5]} for i in range(5)]}
            answer = httpx.post(f"{container.url}/v2/models/fraud/infer", json=rows, timeout=10)
            assert answer.status_code == 200, answer.text
            proba = next(o for o in answer.json()["outputs"] if o["name"] == "predict_proba")
            assert np.isclose(sum(proba["data"]), 1.0)
            if attempt == 0:
                podman("restart", "--time", "30", container.name)
    finally:
        container.remove()
        podman("volume", "rm", "--force", volume, check=False)
