"""One use-case style (issue 13): every rpc of kim.case.v1 is a servicer method of its own name
that calls exactly one use case of the service layer, the one named after the rpc in snake_case
on one of the areas composition.py builds (`SubmitForReview` ->
`Fallvorschlaege.submit_for_review`), so grepping for an rpc finds its code."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

import pytest
from google.protobuf.descriptor import ServiceDescriptor

from kim.case.v1 import case_pb2, federation_pb2
from services.case.api import CaseFederationServicer, CaseServicer
from services.case.composition import CaseServices

SERVICERS: list[tuple[ServiceDescriptor, type]] = [
    (case_pb2.DESCRIPTOR.services_by_name["CaseService"], CaseServicer),
    (federation_pb2.DESCRIPTOR.services_by_name["CaseFederation"], CaseFederationServicer),
]
RPCS = [(servicer, method.name) for service, servicer in SERVICERS for method in service.methods]
#: The area classes by the name the servicers hold them under (CaseServices' fields).
AREAS: dict[str, type] = {f.name: typing.get_type_hints(CaseServices)[f.name]
                          for f in dataclasses.fields(CaseServices)}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(("servicer", "rpc"), RPCS, ids=[f"{s.__name__}.{r}" for s, r in RPCS])
def test_each_rpc_is_a_method_of_its_name_calling_the_use_case_of_its_name(servicer: type, rpc: str) -> None:
    method = servicer.__dict__.get(rpc)
    assert method is not None, f"{servicer.__name__} does not define {rpc} itself"
    calls = re.findall(r"self\.(\w+)\.(\w+)\(", inspect.getsource(method))
    assert [name for _, name in calls] == [snake(rpc)]
    [(area, name)] = calls
    assert area in AREAS, f"{servicer.__name__}.{rpc} calls {area}, which is not an area of CaseServices"
    assert callable(getattr(AREAS[area], name, None)), f"{AREAS[area].__name__} has no {name}"


def test_each_use_case_lives_in_exactly_one_area_and_none_is_generic() -> None:
    owners: dict[str, list[str]] = {}
    for area in AREAS.values():
        for name, _ in inspect.getmembers(area, inspect.isfunction):
            if not name.startswith("_"):
                owners.setdefault(name, []).append(area.__name__)
    assert {name: areas for name, areas in owners.items() if len(areas) > 1} == {}
    assert "execute" not in owners
