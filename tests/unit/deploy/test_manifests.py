"""deploy/k8s: every layout and overlay builds with kustomize, every resource validates against
the Kubernetes schemas (offline, strict), and every pod runs hardened: non-root, no privilege
escalation, no capabilities, read-only root filesystem, resource limits, gRPC probes on the apis.

kustomize comes from `scripts/infra.sh tools` (built from the Go module proxy), as in `make test`.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
BUILDS = ["base", "small", "overlays/kreis", "overlays/kommune", "overlays/traeger"]
WORKLOADS = {"Deployment", "StatefulSet"}


@cache
def kustomize() -> str:
    path = subprocess.run([str(ROOT / "scripts" / "infra.sh"), "kustomize"], capture_output=True,
                          text=True, check=True).stdout.strip()
    if not Path(path).exists():
        pytest.fail(f"kustomize is missing ({path}); install it with `scripts/infra.sh tools`",
                    pytrace=False)
    return path


@cache
def build(directory: str) -> tuple[dict[str, Any], ...]:
    output = subprocess.run([kustomize(), "build", str(DEPLOY / directory)], capture_output=True,
                            text=True, check=False)
    assert output.returncode == 0, output.stderr
    return tuple(doc for doc in yaml.safe_load_all(output.stdout) if doc)


def test_every_kustomization_is_built_here() -> None:
    found = {str(p.parent.relative_to(DEPLOY)) for p in DEPLOY.rglob("kustomization.yaml")}
    assert found - {"node", "components/mongodb", "components/rabbitmq"} == set(BUILDS)


@pytest.mark.parametrize("directory", BUILDS)
def test_every_resource_validates_against_the_kubernetes_schema(directory: str) -> None:
    for document in build(directory):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("directory", BUILDS)
def test_every_pod_runs_hardened_with_limits(directory: str) -> None:
    workloads = [d for d in build(directory) if d["kind"] in WORKLOADS]
    assert workloads
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            hardening = container["securityContext"]
            assert hardening["readOnlyRootFilesystem"] is True
            assert hardening["allowPrivilegeEscalation"] is False
            assert hardening["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]["memory"]
            if container["name"] == "api":
                assert container["readinessProbe"]["grpc"]["port"] == 50051


@pytest.mark.parametrize(("overlay", "apis", "node_id"), [
    ("overlays/kreis", {"case-api", "conference-api", "documents-api", "identity-api"}, "kreis"),
    ("overlays/kommune", {"kim-api"}, "stadt"),
    ("overlays/traeger", {"kim-api"}, "caritas"),
])
def test_overlay_has_its_layout_its_identity_and_its_own_stores(
    overlay: str, apis: set[str], node_id: str
) -> None:
    documents = build(overlay)
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {name for kind, name in names if kind == "Deployment" and name.endswith("-api")} == apis
    assert {("StatefulSet", "mongo"), ("StatefulSet", "rabbitmq")} <= names
    config = next(d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kim-node")
    assert config["data"]["KIM_NODE_ID"] == node_id
    namespace = f"kim-{overlay.split('/')[-1]}"
    assert all(d["metadata"].get("namespace", namespace) == namespace for d in documents)
    assert ("Namespace", namespace) in names
