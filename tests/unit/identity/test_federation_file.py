"""Reading federation files: the shipped local federation, and line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.identity.federation import FederationFileError, load, parse
from services.identity.keycloak_sync import differs

LOCAL = Path(__file__).resolve().parents[3] / "services" / "identity" / "federations" / "local.yaml"


def test_local_federation_declares_the_demo_organisations() -> None:
    federation = load(LOCAL)
    assert {o.alias: o.type for o in federation.organizations} == {
        "kreis-mettmann": "district", "abh-kreis-mettmann": "immigration_office",
        "stadt-hilden": "municipality", "caritas-mettmann": "welfare_org"}
    assert federation.organization("stadt-hilden").role_mappings[0].role == "case_manager"
    assert all(o.identity_provider.local_realm for o in federation.organizations)


def test_renamed_federation_suffixes_every_realm() -> None:
    federation = load(LOCAL).renamed("abc")
    assert federation.realm == "kim-local-abc"
    assert {r.realm.endswith("-abc") for r in federation.local_realms()} == {True}


BROKEN = """\
realm: kim
organizations:
  - alias: stadt-x
    type: kommune
    name: Stadt X
    domains: [stadt-x.de]
    identity_provider:
      alias: stadt-x-idp
      protocol: oidc
      issuer: https://login.stadt-x.de
    role_mappings:
      - {claim: groups, value: cm, role: chef}
nodes:
  - {id: stadt-x, organization: stadt-y, grpc_endpoint: "kim.stadt-x.de:443"}
"""


def test_malformed_file_names_line_and_field_of_every_problem() -> None:
    with pytest.raises(FederationFileError) as caught:
        parse(BROKEN, "broken.yaml")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert (4, "organizations[0].type") in found
    # A missing key is reported where its mapping starts.
    assert (8, "organizations[0].identity_provider.token_url") in found
    assert (12, "organizations[0].role_mappings[0].role") in found
    assert (14, "nodes[0].organization") in found
    assert "Zeile 4, organizations[0].type: unbekannter Wert 'kommune'" in str(caught.value)
    assert "nichts wurde angewendet" in str(caught.value)


def test_unknown_field_is_reported_not_ignored() -> None:
    text = LOCAL.read_text(encoding="utf-8").replace("display_name: KIM-Netz", "displayname: KIM-Netz")
    with pytest.raises(FederationFileError, match="Zeile 7, displayname: unbekanntes Feld"):
        parse(text)


def test_yaml_syntax_error_names_its_line() -> None:
    with pytest.raises(FederationFileError, match="Zeile 4, -: kein gültiges YAML"):
        parse("realm: kim\norganizations:\n  - alias: [unclosed\n")


def test_duplicate_domain_is_reported_at_the_second_organisation() -> None:
    text = LOCAL.read_text(encoding="utf-8").replace("domains: [hilden.de]", "domains: [kreis-mettmann.de]")
    expected = r"organizations\[2\].domains: 'kreis-mettmann.de' ist schon"
    with pytest.raises(FederationFileError, match=expected):
        parse(text)


def test_differs_ignores_fields_keycloak_adds_and_list_order() -> None:
    assert not differs({"a": ["x", "y"], "b": True}, {"a": ["y", "x"], "b": "true", "id": "1"})
    assert differs({"a": {"c": "1"}}, {"a": {"c": "2"}})


def test_a_node_may_declare_its_portals_address_https_or_loopback() -> None:
    local = LOCAL.read_text(encoding="utf-8")
    declared = local.replace("grpc_endpoint: 127.0.0.1:50052",
                             "grpc_endpoint: 127.0.0.1:50052\n    portal_url: https://portal.hilden.de")
    stadt = next(n for n in parse(declared).nodes if n.id == "stadt-hilden")
    assert (stadt.portal_url, stadt.portal_base) == ("https://portal.hilden.de", "https://portal.hilden.de")
    assert stadt.portal_client_id == "kim-portal-stadt-hilden"
    kreis = next(n for n in parse(declared).nodes if n.id == "kreis-mettmann")
    assert (kreis.portal_url, kreis.portal_base) == ("", "http://127.0.0.1")
    plain_http = local.replace("grpc_endpoint: 127.0.0.1:50052",
                               "grpc_endpoint: 127.0.0.1:50052\n    portal_url: http://portal.hilden.de")
    with pytest.raises(FederationFileError, match="portal_url"):
        parse(plain_http)
