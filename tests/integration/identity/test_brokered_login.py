"""A brokered login through the organisation's home realm yields its organisation and roles."""

from __future__ import annotations

from collections.abc import Callable

from kimnetz.runtime.auth import TokenValidator


def test_coordinator_of_the_kreis_arrives_with_organisation_and_mapped_roles(
    token_for: Callable[[str, str], str], federation_validator: TokenValidator,
) -> None:
    principal = federation_validator.validate(token_for("kreis-mettmann", "k.koordination"))
    assert principal.organization == "kreis-mettmann"
    assert {"coordinator", "steering_member"} <= principal.roles
    assert "case_manager" not in principal.roles
    assert principal.username == "k.koordination"


def test_case_manager_of_caritas_is_a_case_manager_of_caritas(
    token_for: Callable[[str, str], str], federation_validator: TokenValidator,
) -> None:
    principal = federation_validator.validate(token_for("caritas-mettmann", "m.beratung"))
    assert (principal.organization, "case_manager" in principal.roles) == ("caritas-mettmann", True)


def test_integration_liaison_of_the_abh(
    token_for: Callable[[str, str], str], federation_validator: TokenValidator,
) -> None:
    principal = federation_validator.validate(token_for("abh-kreis-mettmann", "l.lotsin"))
    assert principal.organization == "abh-kreis-mettmann"
    assert "immigration_liaison" in principal.roles
