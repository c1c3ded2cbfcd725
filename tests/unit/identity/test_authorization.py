"""Authorisation helpers: German reasons, and an audit event for each outcome."""

from __future__ import annotations

import pytest

from kimnetz.errors import PermissionDenied, Unauthenticated
from kimnetz.runtime.audit import MemoryAuditSink, auth_listener
from kimnetz.runtime.auth import ROLE_LABELS, Principal, require_organization, require_role
from services.identity.domain import REALM_ROLES


def make_principal(**overrides: object) -> Principal:
    fields: dict[str, object] = {"subject": "s1", "username": "c.manager", "organization": "stadt-hilden",
                                 "roles": frozenset({"case_manager"})}
    fields.update(overrides)
    return Principal(**fields)  # type: ignore[arg-type]


def test_holder_of_a_role_is_allowed_and_audited() -> None:
    audit = MemoryAuditSink()
    require_role(make_principal(), "case_manager", "coordinator", action="Fall anlegen", audit=audit)
    [event] = audit.events
    assert (event.kind, event.outcome, event.action, event.organization) == (
        "authorization", "granted", "Fall anlegen", "stadt-hilden")


def test_missing_role_is_denied_with_german_reason_and_audited() -> None:
    audit = MemoryAuditSink()
    with pytest.raises(PermissionDenied, match="Koordinator\\*in \\(Fachaufsicht\\)") as caught:
        require_role(make_principal(), "coordinator", action="Fallkonferenz planen", audit=audit)
    [event] = audit.events
    assert event.outcome == "denied"
    assert event.reason == caught.value.message
    assert "Fallkonferenz planen" in event.reason


def test_other_organization_is_denied() -> None:
    audit = MemoryAuditSink()
    with pytest.raises(PermissionDenied, match="caritas-mettmann"):
        require_organization(make_principal(), "caritas-mettmann", action="Fall lesen", audit=audit)
    require_organization(make_principal(), "stadt-hilden", action="Fall lesen", audit=audit)
    assert [e.outcome for e in audit.events] == ["denied", "granted"]


def test_principal_without_organization_is_denied_any_organization() -> None:
    with pytest.raises(PermissionDenied, match="keine Organisation"):
        require_organization(make_principal(organization=None), "stadt-hilden", action="Fall lesen")


def test_auth_listener_records_refusals_at_the_door() -> None:
    audit = MemoryAuditSink()
    auth_listener(audit)("/kim.case.v1.CaseService/GetCase", None, Unauthenticated("abgelaufen"))
    [event] = audit.events
    assert (event.kind, event.outcome, event.action, event.reason) == (
        "authentication", "denied", "/kim.case.v1.CaseService/GetCase", "abgelaufen")


def test_runtime_role_labels_are_the_federation_roles() -> None:
    assert ROLE_LABELS == REALM_ROLES
