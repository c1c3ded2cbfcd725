"""Standard gRPC clients against a real api process (issue 17, "Standard clients work"):
health by the full service names that grpc-health-probe and Kubernetes' gRPC probes ask for,
and server reflection that lists the services without the protos and without a token, unless
the node switches it off."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.settings import Settings

FULL_NAMES = ("kim.case.v1.CaseService", "kim.case.v1.CaseFederation",
              "kim.conference.v1.ConferenceService", "kim.documents.v1.DocumentsService",
              "kim.identity.v1.IdentityService")


def _started(settings: Settings) -> Iterator[ApiProcess]:
    api = build_api_process(settings, address="127.0.0.1:0", audit=MemoryAuditSink())
    api.start()
    yield api
    api.stop(None)


@pytest.fixture(scope="module")
def process(node_settings: Settings) -> Iterator[ApiProcess]:
    yield from _started(node_settings.model_copy(update={"grpc_workers": 4}))


def _listed(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                        timeout=10)
    return {service.name for answer in answers
            for service in answer.list_services_response.service}


@pytest.mark.parametrize("name", ["", *FULL_NAMES])
def test_health_answers_to_the_full_service_names(process: ApiProcess, name: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=name), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_short_names_are_not_health_names(process: ApiProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel, \
            pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="case"),
                                                  timeout=10)
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_reflection_lists_every_service_without_a_token(process: ApiProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        listed = _listed(channel)
    assert set(FULL_NAMES) <= listed
    assert "grpc.health.v1.Health" in listed


def test_reflection_describes_a_method_of_the_contract(process: ApiProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="kim.case.v1.CaseService")]), timeout=10))
    files = answers[0].file_descriptor_response.file_descriptor_proto
    assert files, answers[0].error_response.error_message
    assert any(b"GetCaseRequest" in proto for proto in files)


def test_a_node_can_switch_reflection_off(node_settings: Settings) -> None:
    settings = node_settings.model_copy(update={"grpc_workers": 2, "grpc_reflection": False})
    for api in _started(settings):
        with grpc.insecure_channel(f"127.0.0.1:{api.port}") as channel, \
                pytest.raises(grpc.RpcError) as raised:
            _listed(channel)
        assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED
