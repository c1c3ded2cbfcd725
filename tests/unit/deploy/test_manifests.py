"""deploy/k8s: every kustomization's resources exist, validate against the Kubernetes schemas
(offline, strict) and run hardened: non-root, read-only root filesystem, no capabilities,
resource limits, gRPC probes on api containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"


def kustomizations() -> list[Path]:
    return sorted(DEPLOY.rglob("kustomization.yaml"))


def resources(kustomization: Path) -> list[tuple[Path, dict[str, Any]]]:
    listed = yaml.safe_load(kustomization.read_text())["resources"]
    found = []
    for name in listed:
        path = kustomization.parent / name
        if path.is_dir():
            continue  # another kustomization, checked on its own
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def test_there_is_a_base_with_every_service() -> None:
    base = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text())
    assert {"case.yaml", "conference.yaml", "documents.yaml", "identity.yaml"} <= set(base["resources"])


@pytest.mark.parametrize("kustomization", kustomizations(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_resource_validates_against_the_kubernetes_schema(kustomization: Path) -> None:
    for path, document in resources(kustomization):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        assert document["metadata"]["name"], path


@pytest.mark.parametrize("kustomization", kustomizations(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_container_runs_hardened_with_limits(kustomization: Path) -> None:
    deployments = [d for _, d in resources(kustomization) if d["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            hardening = container["securityContext"]
            assert hardening["readOnlyRootFilesystem"] is True
            assert hardening["allowPrivilegeEscalation"] is False
            assert hardening["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]["memory"]
            if container["name"] == "api":
                assert container["readinessProbe"]["grpc"]["port"] == 50051
