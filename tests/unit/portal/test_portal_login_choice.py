"""A Kreis's portal also serves organisations without a node of their own (its
Ausländerbehörde): the login lets each person choose her home login; other portals go straight
to their organisation's login. And which organisations a Kreis hosts, from the federation file."""

from __future__ import annotations

from pathlib import Path

from kimctl.nodes import hosted_logins
from services.identity import federation as federation_file
from tests.support.fakes.portal import make_portal

LOCAL = Path(__file__).resolve().parents[3] / "services" / "identity" / "federations" / "local.yaml"
HOSTED = "abh-kreis-mettmann-idp|Ausländerbehörde des Kreises Mettmann"


def test_a_portal_hosting_another_organisation_offers_both_logins() -> None:
    portal = make_portal(person=None, portal_hosted_logins=HOSTED, portal_idp_hint="kreis-mettmann-idp",
                         portal_organization_name="Kreis Mettmann")
    answer = portal.client.get("/anmelden?next=/fallkonferenzen/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="anmeldung-auswahl"' in page
    assert "Anmelden als Mitarbeiter*in: Kreis Mettmann" in page
    assert "Anmelden als Mitarbeiter*in: Ausländerbehörde des Kreises Mettmann" in page
    assert "bei=abh-kreis-mettmann-idp" in page and "next=/fallkonferenzen/" in page


def test_a_chosen_login_goes_on_to_keycloak_and_an_unknown_one_is_asked_again() -> None:
    portal = make_portal(person=None, portal_hosted_logins=HOSTED, portal_idp_hint="kreis-mettmann-idp")
    # Without Keycloak in unit tests the chosen login ends at the 503 of a missing Keycloak:
    # past the choice, which an unknown alias is not.
    assert portal.client.get("/anmelden?bei=abh-kreis-mettmann-idp").status_code == 503
    assert 'id="anmeldung-auswahl"' in portal.client.get("/anmelden?bei=fremd-idp").get_data(as_text=True)


def test_a_portal_hosting_nobody_goes_straight_to_its_login() -> None:
    portal = make_portal(person=None, portal_idp_hint="caritas-mettmann-idp")
    assert 'anmeldung-auswahl' not in portal.client.get("/anmelden").get_data(as_text=True)


def test_the_kreis_hosts_the_organisations_without_a_node_and_nobody_else_hosts() -> None:
    federation = federation_file.load(LOCAL)
    kreis = federation.organization("kreis-mettmann")
    # The demo's federation: nodes of the Kreis, the Stadt and the Caritas; the ABH has none.
    assert {n.organization for n in federation.nodes} == {"kreis-mettmann", "stadt-hilden",
                                                          "caritas-mettmann"}
    assert hosted_logins(federation, kreis) == HOSTED
    for organization in federation.organizations:
        if organization.type != "district":
            assert hosted_logins(federation, organization) == ""
