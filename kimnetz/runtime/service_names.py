"""The full gRPC names of what each KIM service serves, read from the generated contracts.

Standard clients ask by these names: grpc-health-probe and Kubernetes' gRPC probes
(`-service=kim.case.v1.CaseService`), grpcurl through server reflection. The short names
("case") stay the names of settings and processes (`KIM_GRPC_SERVICES`, `kim node status`)."""

from __future__ import annotations

from kim.case.v1 import case_pb2, federation_pb2
from kim.conference.v1 import conference_pb2
from kim.documents.v1 import documents_pb2
from kim.identity.v1 import identity_pb2

GRPC_SERVICES: dict[str, tuple[str, ...]] = {
    "case": (case_pb2.DESCRIPTOR.services_by_name["CaseService"].full_name,
             federation_pb2.DESCRIPTOR.services_by_name["CaseFederation"].full_name),
    "conference": (conference_pb2.DESCRIPTOR.services_by_name["ConferenceService"].full_name,),
    "documents": (documents_pb2.DESCRIPTOR.services_by_name["DocumentsService"].full_name,),
    "identity": (identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,),
}


def grpc_services(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The full gRPC service names behind the short service names an api process serves."""
    return tuple(full for name in names for full in GRPC_SERVICES[name])
