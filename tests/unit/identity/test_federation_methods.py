"""What an api process offers peer nodes: the api modules' FEDERATION_METHODS merged, with
mistakes (prefixes instead of a mapping, half paths, misspelt roles) stopping the process."""

from __future__ import annotations

from types import ModuleType

import pytest

from services.identity import api
from services.identity.node_trust import federation_methods


def module(methods: object) -> ModuleType:
    declared = ModuleType("services.example.api")
    declared.FEDERATION_METHODS = methods  # type: ignore[attr-defined]
    return declared


def test_declarations_of_all_apis_are_merged() -> None:
    case = module({"/kim.case.v1.CaseFederation/GetFigures": {"district"}})
    merged = federation_methods([api, case, ModuleType("services.plain.api")])
    assert merged["/kim.case.v1.CaseFederation/GetFigures"] == frozenset({"district"})
    assert merged["/kim.identity.v1.IdentityService/RegisterNode"] is None
    assert merged["/kim.identity.v1.IdentityService/ResolvePeer"] == frozenset(
        {"district", "municipality", "welfare_org", "immigration_office"})
    assert "/kim.identity.v1.IdentityService/WhoAmI" not in merged


@pytest.mark.parametrize(("methods", "problem"), [
    (("/kim.case.v1.CaseFederation/",), "must map method paths"),
    ({"/kim.case.v1.CaseFederation/": None}, "no full method path"),
    ({"GetFigures": None}, "no full method path"),
    ({"/kim.case.v1.CaseFederation/GetFigures": {"distrcit"}}, "unknown node roles distrcit"),
])
def test_mistakes_stop_the_process(methods: object, problem: str) -> None:
    with pytest.raises((TypeError, ValueError), match=problem):
        federation_methods([module(methods)])
