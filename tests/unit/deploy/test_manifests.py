"""deploy/k8s: every layout and overlay builds with kustomize, every resource validates against
the Kubernetes schemas (offline, strict), and every pod runs hardened: non-root, no privilege
escalation, no capabilities, read-only root filesystem, resource limits, gRPC probes on the apis.
The overlays are nodes of the federation: declared in its file, the mutual-TLS port served,
exposed and open to peers only, the TLS secret where the settings look, the directory at the
Kreis, and the broker federated with the peers' brokers over TLS (Messaging Topology Operator
resources). High availability on the engines' own operators (issue 17, item 1): a three-member
MongoDB replica set with SCRAM and TLS (MongoDBCommunity), a three-node RabbitMQ cluster
(RabbitmqCluster), Keycloak (Keycloak) on a CloudNativePG cluster; the apis and the portal run two
pods or more with PodDisruptionBudgets. Custom resources validate against the schemas the project
keeps in deploy/k8s/schemas (jsonschema), everything else against the Kubernetes schemas.

kustomize comes from `scripts/infra.sh tools` (built from the Go module proxy), as in `make test`.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kimctl.nodes import FEDERATED_EXCHANGES
from kimnetz.runtime.broker_admin import link_permissions
from services.identity import federation as federation_file

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
BUILDS = ["base", "small", "overlays/kreis", "overlays/kommune", "overlays/traeger"]
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
OVERLAYS = ["overlays/kreis", "overlays/kommune", "overlays/traeger"]
FEDERATION_LABEL = "kim-netz.de/federation"
SCHEMAS = DEPLOY / "schemas"
#: API groups of the operators' custom resources; their schemas are kept in deploy/k8s/schemas.
CUSTOM_GROUPS = {"rabbitmq.com", "mongodbcommunity.mongodb.com", "k8s.keycloak.org", "postgresql.cnpg.io"}


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
    assert found - {"node", "components/mongodb", "components/rabbitmq", "components/keycloak"} == set(BUILDS)


def custom_schema(document: dict[str, Any]) -> dict[str, Any] | None:
    """The kept schema of a custom resource, None for a Kubernetes resource."""
    group, _, version = document["apiVersion"].rpartition("/")
    if group not in CUSTOM_GROUPS:
        return None
    path = SCHEMAS / f"{group}_{version}_{document['kind']}.json"
    assert path.exists(), f"no schema kept for {document['apiVersion']} {document['kind']}"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize("directory", BUILDS)
def test_every_resource_validates_against_the_kubernetes_schema_or_its_operators(directory: str) -> None:
    documents = build(directory)
    assert documents  # an empty build would validate vacuously
    for document in documents:
        schema = custom_schema(document)
        if schema is None:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        else:
            jsonschema.validate(document, schema)


def test_the_kept_schemas_refuse_a_misspelt_field() -> None:
    """An API server prunes fields a CRD does not know, silently: the kept schemas are closed,
    so a misspelt field fails here instead of vanishing in the cluster."""
    cluster = named("overlays/kreis", "RabbitmqCluster", "rabbitmq")
    schema = custom_schema(cluster)
    assert schema is not None
    jsonschema.validate(cluster, schema)
    misspelt = {**cluster, "spec": {**cluster["spec"], "replica": 3}}
    with pytest.raises(jsonschema.ValidationError, match="replica"):
        jsonschema.validate(misspelt, schema)
    wrong = {**cluster, "spec": {**cluster["spec"], "replicas": "three"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
    for path in SCHEMAS.glob("*.json"):
        jsonschema.Draft7Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


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
    ("overlays/kreis", {"case-api", "conference-api", "documents-api", "identity-api"}, "kreis-mettmann"),
    ("overlays/kommune", {"kim-api"}, "stadt-hilden"),
    ("overlays/traeger", {"kim-api"}, "caritas-mettmann"),
])
def test_overlay_has_its_layout_its_identity_and_its_own_stores(
    overlay: str, apis: set[str], node_id: str
) -> None:
    documents = build(overlay)
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {name for kind, name in names if kind == "Deployment" and name.endswith("-api")} == apis
    assert {("MongoDBCommunity", "kim-mongo"), ("RabbitmqCluster", "rabbitmq")} <= names
    assert node_config(overlay)["KIM_NODE_ID"] == node_id
    namespace = f"kim-{overlay.split('/')[-1]}"
    assert all(d["metadata"].get("namespace", namespace) == namespace for d in documents)
    assert ("Namespace", namespace) in names


# --- the overlays as nodes of the federation ---------------------------------------------------

def named(directory: str, kind: str, name: str) -> dict[str, Any]:
    """A resource of the build; generated ConfigMaps carry a hash after their name."""
    found = [d for d in build(directory) if d["kind"] == kind
             and re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", d["metadata"]["name"])]
    assert len(found) == 1, f"{directory}: {kind} {name}: {len(found)} found"
    return found[0]


def node_config(directory: str) -> dict[str, str]:
    data: dict[str, str] = named(directory, "ConfigMap", "kim-node")["data"]
    return data


def pod_volumes(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}


def api_deployments(directory: str) -> list[dict[str, Any]]:
    return [d for d in build(directory) if d["kind"] == "Deployment"
            and d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "api"]


def federation_in_image(config: dict[str, str]) -> Path:
    """The federation file KIM_FEDERATION_FILE names, as the Dockerfile copies it into the image."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = re.search(r"^COPY (\S+) (/etc/kim/federations)$", dockerfile, re.M)
    assert copied
    named_file = Path(config["KIM_FEDERATION_FILE"])
    assert named_file.parent == Path(copied.group(2))
    return ROOT / copied.group(1) / named_file.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_node_is_declared_in_the_federation_file_with_its_service_account(overlay: str) -> None:
    config = node_config(overlay)
    federation = federation_file.load(federation_in_image(config))
    declared = next((n for n in federation.nodes if n.id == config["KIM_NODE_ID"]), None)
    assert declared is not None, f"{config['KIM_NODE_ID']} is not a node of the federation"
    assert declared.organization == config["KIM_ORGANIZATION_ID"]
    assert config["KIM_CLIENT_ID"] == declared.client_id
    assert config["KIM_KEYCLOAK_REALM"] == federation.realm


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_federation_port_is_served_exposed_and_open_to_the_federations_namespaces_only(overlay: str) -> None:
    config = node_config(overlay)
    port = int(config["KIM_FEDERATION_PORT"])
    services = [d for d in build(overlay) if d["kind"] == "Service"]
    for deployment in api_deployments(overlay):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {"name": "federation", "containerPort": port} in container["ports"]
        fronting = [s for s in services if s["spec"]["selector"].items() <= labels.items()]
        assert any({"name": "federation", "port": port, "targetPort": "federation"}.items() <= p.items()
                   for s in fronting for p in s["spec"]["ports"]), deployment["metadata"]["name"]
    policy = named(overlay, "NetworkPolicy", "kim-api")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "api"}
    rules = {rule["ports"][0]["port"]: rule.get("from") for rule in policy["ingress"]}
    assert rules["federation"] == [{"namespaceSelector": {"matchLabels": {FEDERATION_LABEL: "kim-local"}}}]
    assert rules["grpc"] is None  # people's calls, token checked by the api
    assert named(overlay, "NetworkPolicy", "kim-default-deny-ingress")["spec"]["podSelector"] == {}
    namespace = named(overlay, "Namespace", f"kim-{overlay.split('/')[-1]}")
    assert namespace["metadata"]["labels"][FEDERATION_LABEL] == "kim-local"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tls_secret_is_mounted_where_the_settings_look(overlay: str) -> None:
    tls_dir = node_config(overlay)["KIM_TLS_DIR"]
    for deployment in api_deployments(overlay):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == tls_dir)
        assert mount["readOnly"] is True
        assert pod_volumes(deployment)[mount["name"]]["secret"]["secretName"] == "kim-node-tls"


def test_directory_is_kept_by_the_kreis_and_reached_at_its_identity_services_federation_port() -> None:
    """The Kreis's identity api keeps the directory (empty target); every other api, of the
    Kreis (own Deployments there) and of the other nodes, asks its mutual-TLS port."""
    identity = named("overlays/kreis", "Service", "identity")
    federation_port = next(p["port"] for p in identity["spec"]["ports"] if p["name"] == "federation")
    expected = f"identity.{identity['metadata']['namespace']}.svc.cluster.local:{federation_port}"
    for overlay in OVERLAYS:
        for deployment in api_deployments(overlay):
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            environment = {**node_config(overlay), **{e["name"]: e.get("value") for e in container["env"]}}
            keeps = overlay == "overlays/kreis" and "identity" in environment["KIM_GRPC_SERVICES"]
            assert environment["KIM_DIRECTORY_TARGET"] == ("" if keeps else expected), \
                f"{overlay}: {deployment['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_broker_is_federated_with_the_peers_brokers_over_tls(overlay: str) -> None:
    config = node_config(overlay)
    broker = named(overlay, "RabbitmqCluster", "rabbitmq")["spec"]
    assert {"rabbitmq_federation", "rabbitmq_management"} <= set(broker["rabbitmq"]["additionalPlugins"])
    settings = dict(line.split(" = ") for line in broker["rabbitmq"]["additionalConfig"].splitlines()
                    if line and not line.startswith("#"))
    assert settings["ssl_options.verify"] == "verify_peer"
    assert settings["ssl_options.fail_if_no_peer_cert"] == "true"
    assert broker["tls"] == {"secretName": "kim-rabbitmq-tls", "caSecretName": "kim-rabbitmq-ca"}
    assert config["RABBITMQ_MANAGEMENT_URL"] == "http://rabbitmq:15672"  # the operator's Service
    policy = named(overlay, "NetworkPolicy", "rabbitmq")["spec"]
    rules = {rule["ports"][0]["port"]: rule["from"] for rule in policy["ingress"]}
    assert rules[5671] == [{"namespaceSelector": {"matchLabels": {FEDERATION_LABEL: "kim-local"}}}]
    assert rules[5672] == [{"podSelector": {}}]
    # The node's vhost, its user with every right there, the federation policy.
    assert named(overlay, "Vhost", "kim")["spec"]["name"] == "kim"
    own = named(overlay, "Permission", "kim-node")["spec"]
    assert own["vhost"] == "kim" and own["userReference"] == {"name": "kim-node"}
    federation_policy = named(overlay, "Policy", "kim-federation")["spec"]
    assert federation_policy["definition"] == {"federation-upstream-set": "all"}
    assert federation_policy["applyTo"] == "exchanges"
    assert federation_policy["pattern"] == link_permissions(FEDERATED_EXCHANGES)["read"].replace(
        "|federation: .*", "")
    for document in build(overlay):
        if document["apiVersion"].startswith("rabbitmq.com/") and document["kind"] != "RabbitmqCluster":
            assert document["spec"]["rabbitmqClusterReference"] == {"name": "rabbitmq"}


#: Which peers' events each overlay receives, and which peers fetch its own (the demo's links:
#: the Kreis with each other node, kimctl/demo.py DEMO_LINKS).
PEERS = {"overlays/kreis": {"caritas-mettmann", "stadt-hilden"},
         "overlays/kommune": {"kreis-mettmann"}, "overlays/traeger": {"kreis-mettmann"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_peer_has_an_upstream_and_a_link_user_with_read_rights_only(overlay: str) -> None:
    documents = build(overlay)
    upstreams = {d["spec"]["name"]: d["spec"] for d in documents if d["kind"] == "Federation"}
    assert set(upstreams) == PEERS[overlay]
    declared = {n.id for n in federation_file.load(federation_in_image(node_config(overlay))).nodes}
    assert set(upstreams) <= declared
    for peer, upstream in upstreams.items():
        assert upstream["uriSecret"] == {"name": f"kim-upstream-{peer}"}
        assert upstream["vhost"] == "kim"
        # What `kim node link` sets on a local node (BrokerAdmin.link_upstream).
        assert (upstream["maxHops"], upstream["ackMode"], upstream["trustUserId"]) == (1, "on-confirm", False)
        user = named(overlay, "User", f"link-{peer}")["spec"]
        assert user["tags"] == [] and user["importCredentialsSecret"] == {"name": f"kim-link-{peer}"}
        permission = named(overlay, "Permission", f"link-{peer}")["spec"]
        assert permission["userReference"] == {"name": f"link-{peer}"}
        assert permission["permissions"] == link_permissions(FEDERATED_EXCHANGES)
    assert not [d for d in documents if d["kind"] == "Job"]  # no `kim node link` Job any more


# --- high availability (issue 17, item 1) ---------------------------------------------------

def budgets_of(directory: str, workload: dict[str, Any]) -> list[dict[str, Any]]:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return [d for d in build(directory) if d["kind"] == "PodDisruptionBudget"
            and d["spec"]["selector"]["matchLabels"].items() <= labels.items()]


@pytest.mark.parametrize("directory", BUILDS)
def test_apis_portal_and_workers_run_two_pods_or_more_under_a_disruption_budget(directory: str) -> None:
    deployments = [d for d in build(directory) if d["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2, name
        budgets = budgets_of(directory, deployment)
        assert len(budgets) == 1, f"{name}: {len(budgets)} budgets"
        spec = budgets[0]["spec"]
        # A drain leaves a pod serving: at least one available, or at most one (of two) away.
        assert spec.get("minAvailable") == 1 or spec.get("maxUnavailable") == 1, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_mongodb_is_a_three_member_replica_set_with_authentication_and_tls(overlay: str) -> None:
    mongo = named(overlay, "MongoDBCommunity", "kim-mongo")["spec"]
    assert (mongo["type"], mongo["members"]) == ("ReplicaSet", 3)
    assert mongo["security"]["authentication"]["modes"] == ["SCRAM-SHA-256"]
    assert mongo["security"]["tls"]["enabled"] is True and mongo["security"]["tls"]["optional"] is False
    (user,) = mongo["users"]
    ca_file = user["additionalConnectionStringConfig"]["tlsCAFile"]
    for deployment in (d for d in build(overlay) if d["kind"] == "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        uri = next(e for e in container["env"] if e["name"] == "MONGODB_URI")
        # The operator's connection string: every member, replicaSet, tls, the user's password.
        assert uri["valueFrom"]["secretKeyRef"] == {"name": user["connectionStringSecretName"],
                                                   "key": "connectionString.standard"}
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(Path(ca_file).parent))
        volume = pod_volumes(deployment)[mount["name"]]
        assert volume["configMap"]["name"] == mongo["security"]["tls"]["caConfigMapRef"]["name"]
    budget = named(overlay, "PodDisruptionBudget", "kim-mongo")["spec"]
    assert budget["maxUnavailable"] == 1  # two of three keep the majority


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_is_a_three_node_cluster(overlay: str) -> None:
    broker = named(overlay, "RabbitmqCluster", "rabbitmq")["spec"]
    assert broker["replicas"] == 3
    anti = broker["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"


def test_keycloak_runs_on_its_operator_with_a_postgresql_cluster() -> None:
    keycloak = named("overlays/kreis", "Keycloak", "kim-keycloak")["spec"]
    database = named("overlays/kreis", "Cluster", "kim-keycloak-db")
    assert keycloak["instances"] >= 2
    assert keycloak["db"]["vendor"] == "postgres"
    assert keycloak["db"]["host"] == f"{database['metadata']['name']}-rw"  # CloudNativePG's primary
    assert keycloak["db"]["database"] == database["spec"]["bootstrap"]["initdb"]["database"]
    assert keycloak["db"]["usernameSecret"]["name"] == f"{database['metadata']['name']}-app"
    assert database["spec"]["instances"] == 3
    assert f"https://{keycloak['hostname']['hostname']}" == node_config("overlays/kreis")["KEYCLOAK_URL"]


#: The apis that call another service's api of the same node, and the setting naming it
#: (services/conference/api.py, services/documents/api.py); empty means "this process".
CALLS_WITHIN_NODE = {"conference": {"case": "KIM_CASE_API_TARGET"},
                     "documents": {"conference": "KIM_CONFERENCE_API_TARGET", "case": "KIM_CASE_API_TARGET"}}


@pytest.mark.parametrize("directory", ["base", "small", *OVERLAYS])
def test_an_api_reaches_the_other_services_it_calls(directory: str) -> None:
    services = [d for d in build(directory) if d["kind"] == "Service"]
    apis = api_deployments(directory)
    served = {}
    for deployment in apis:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        environment = {e["name"]: e.get("value", "") for e in container["env"]}
        served[deployment["metadata"]["name"]] = (set(environment["KIM_GRPC_SERVICES"].split(",")),
                                                  environment, deployment)
    for own, environment, _ in served.values():
        for caller, callees in CALLS_WITHIN_NODE.items():
            if caller not in own:
                continue
            for callee, setting in callees.items():
                if callee in own:
                    assert not environment.get(setting), f"{caller} calls its own process for {callee}"
                    continue
                host, port = environment[setting].split(":")
                service = next(s for s in services if s["metadata"]["name"] == host)
                assert any(p["port"] == int(port) and p["name"] == "grpc" for p in service["spec"]["ports"])
                target = [d for names, _, d in served.values() if callee in names
                          and service["spec"]["selector"].items()
                          <= d["spec"]["template"]["metadata"]["labels"].items()]
                assert target, f"{setting}={environment[setting]} reaches no api serving {callee}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_portal_runs_beside_the_apis_with_its_client_and_reaches_every_service(overlay: str) -> None:
    documents = build(overlay)
    config = next(d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kim-node")
    node_id = config["data"]["KIM_NODE_ID"]
    federation = federation_file.load(ROOT / "services" / "identity" / "federations" / "local.yaml")
    declared = next(n for n in federation.nodes if n.id == node_id)
    organization = federation.organization(declared.organization)
    assert config["data"]["KIM_PORTAL_CLIENT_ID"] == declared.portal_client_id
    assert config["data"]["KIM_PORTAL_IDP_HINT"] == organization.identity_provider.alias
    assert config["data"]["KIM_PORTAL_ORGANIZATION_NAME"] == organization.name
    assert config["data"]["KIM_PORTAL_PUBLIC_URL"].startswith("https://")
    (portal,) = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "portal"]
    container = portal["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["kim", "node", "portal"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {e["name"]: e.get("value", "") for e in container["env"]}
    assert env["KIM_PORTAL_CLIENT_SECRET_FILE"].startswith("/run/secrets/kim/")
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    assert services["portal"]["spec"]["ports"][0]["targetPort"] == "http"
    # Every service the portal calls is a Service of this node on the port it names.
    targets = [env["KIM_PORTAL_API_TARGET"]] + [
        t.split("=", 1)[1] for t in env.get("KIM_PORTAL_API_TARGETS", "").split(",") if t]
    for target in targets:
        host, port = target.split(":")
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, target
    if overlay == "overlays/kreis":
        assert {t.split("=")[0] for t in env["KIM_PORTAL_API_TARGETS"].split(",")} == {
            "case", "conference", "documents", "identity"}
    policy = next(d for d in documents
                  if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "kim-portal")
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": "http"}]}]
