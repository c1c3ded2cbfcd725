"""Two nodes set up as an operator does (`kim node init`, `link`, `up`): events recorded on one
node reach the workers of the other through the RabbitMQ federation, in both directions, and a
node that was down receives on its return what was sent meanwhile, once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kimctl import devrealm, nodes
from kimctl.nodecheck import check_federation, node_alias, wait_for_receipts
from kimnetz.errors import Unavailable
from kimnetz.runtime import node
from kimnetz.runtime.broker_admin import BrokerAdmin, link_user, node_user
from kimnetz.runtime.event_trust import DirectoryEntry
from kimnetz.runtime.pki import fingerprint
from kimnetz.runtime.settings import Settings
from tests.e2e.test_node_smoke import free_port
from tests.support import servers, signing


@pytest.fixture(scope="module")
def linked_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Settings]]:
    home: Path = tmp_path_factory.mktemp("kim-home")
    # The context undoes KIM_HOME even when clean-up fails (a broker that is down), so later
    # tests never see this fixture's home.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(home))
        base = devrealm.settings_with_secret(Settings())
        servers.require_tcp("MongoDB-wire server (FerretDB)", base.mongodb_uri, 27017)
        prefix = f"t{uuid.uuid4().hex[:6]}"
        ids = {"kreis": f"{prefix}-kreis", "caritas": f"{prefix}-caritas"}
        started = []
        try:
            for role, node_id in ids.items():
                nodes.init(nodes.NodeSpec(node_id, f"{role}-org", free_port()), base)
            nodes.link(ids["kreis"], ids["caritas"])
            nodes.link(ids["caritas"], ids["kreis"])
            # No federation file, so no node directory: each node is told the other's
            # certificate, as its directory snapshot would hold it (docs/events.md).
            for node_id in ids.values():
                for other_role, other in ids.items():
                    if other != node_id:
                        certificate = nodes.node_credentials(other).certificate
                        signing.trust_entries(nodes.node_settings(node_id), [DirectoryEntry(
                            fingerprint(certificate), other, f"{other_role}-org", "district",
                            "active")])
            settings = {}
            for role, node_id in ids.items():
                settings[role] = nodes.up(node_id, extra={"KIM_OUTBOX_SWEEP_SECONDS": "0.5"})
                started.append(node_id)
            # An event published before its federation link runs is not carried (the link
            # user's first attempt fails until the peer declared its exchanges; dropping it is
            # the dead-letter work's to mend): the checks start once every link runs.
            admin, deadline = servers.broker_admin(base), time.monotonic() + 60
            while not all(_links_running(admin, node_id) for node_id in ids.values()):
                assert time.monotonic() < deadline, [admin.federation_links(n) for n in ids.values()]
                time.sleep(0.5)
            # A link that reports "running" has at times not yet bound its upstream queue, and a
            # probe published in that moment is not carried (the fresh-clone run of 2026-12-03
            # lost one of two): warm each direction up with probes until one arrives, so the
            # tests below prove the steady state. Open: the upstream queues belong declared by
            # `kim node link` itself, so nothing depends on the link's first connect.
            for sender, receiver in ((settings["caritas"], settings["kreis"]),
                                     (settings["kreis"], settings["caritas"])):
                for _ in range(4):
                    warm = check_federation(sender, receiver, timeout=20)
                    if warm.ok:
                        break
                assert warm.ok, warm.detail
            yield settings
        finally:
            for node_id in started:
                nodes.down(node_id)
            admin = servers.broker_admin(base)
            for node_id in ids.values():
                admin.delete_vhost(node_id)
                admin.delete_user(node_user(node_id))
                for peer in ids.values():
                    admin.delete_user(link_user(node_id, peer))
                servers.drop_databases(base.model_copy(update={"node_id": node_id}))


def _links_running(admin: BrokerAdmin, vhost: str) -> bool:
    """The probes' link (node.events) and every other link of the vhost run (a link exists
    for each federated exchange the node's processes declared). The management api answers 500
    now and then while a link starts: not running yet, asked again until the deadline."""
    try:
        links = admin.federation_links(vhost)
    except Unavailable:
        return False
    return any(link.get("exchange") == "node.events" for link in links) and all(
        link.get("status") == "running" for link in links)


def test_events_cross_the_federation_in_both_directions(linked_nodes: dict[str, Settings]) -> None:
    kreis, caritas = linked_nodes["kreis"], linked_nodes["caritas"]
    for sender, receiver in ((caritas, kreis), (kreis, caritas)):
        result = check_federation(sender, receiver, timeout=60)
        assert result.ok, result.detail
        assert "case (1x)" in result.detail and "conference (1x)" in result.detail


def test_node_that_was_down_receives_what_was_sent_meanwhile_once(
    linked_nodes: dict[str, Settings],
) -> None:
    kreis, caritas = linked_nodes["kreis"], linked_nodes["caritas"]
    assert nodes.down(kreis.node_id) == ["api", "worker", "portal"]
    try:
        probe = node.request_probe(caritas, requested_by="Kreis offline", alias=node_alias(caritas))
    finally:
        nodes.up(kreis.node_id, extra={"KIM_OUTBOX_SWEEP_SECONDS": "0.5"})
    deliveries = wait_for_receipts(probe.probe_id, kreis, timeout=60)
    assert deliveries == {s: 1 for s in kreis.served_services}
