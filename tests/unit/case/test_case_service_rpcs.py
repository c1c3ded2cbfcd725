"""One use-case style (issue 13): every rpc of kim.case.v1 is a servicer method of its own name
that calls exactly one use case of the service layer, the one named after the rpc in snake_case
(`SubmitForReview` -> `CaseService.submit_for_review`), so grepping for an rpc finds its code."""

from __future__ import annotations

import inspect
import re

import pytest
from google.protobuf.descriptor import ServiceDescriptor

from kim.case.v1 import case_pb2, federation_pb2
from services.case.api import CaseFederationServicer, CaseServicer
from services.case.service import CaseService

SERVICERS: list[tuple[ServiceDescriptor, type]] = [
    (case_pb2.DESCRIPTOR.services_by_name["CaseService"], CaseServicer),
    (federation_pb2.DESCRIPTOR.services_by_name["CaseFederation"], CaseFederationServicer),
]
RPCS = [(servicer, method.name) for service, servicer in SERVICERS for method in service.methods]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(("servicer", "rpc"), RPCS, ids=[f"{s.__name__}.{r}" for s, r in RPCS])
def test_each_rpc_is_a_method_of_its_name_calling_the_use_case_of_its_name(servicer: type, rpc: str) -> None:
    method = servicer.__dict__.get(rpc)
    assert method is not None, f"{servicer.__name__} does not define {rpc} itself"
    assert callable(getattr(CaseService, snake(rpc), None)), f"CaseService has no {snake(rpc)}"
    calls = re.findall(r"self\.service\.(\w+)\(", inspect.getsource(method))
    assert calls == [snake(rpc)]


def test_the_service_layer_has_no_generic_entry_left() -> None:
    assert not hasattr(CaseService, "execute")
