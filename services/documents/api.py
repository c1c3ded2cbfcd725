"""Entry of the documents service into an api process: the DocumentsService servicer and the
documents whose outboxes the relay sends (including those the worker writes: the api process's
relay sweeps every outbox collection of the node).

The servicer only translates: protobuf in, the service layer (services/documents/service.py)
called with the caller's Principal, protobuf out. Errors are `kimnetz.errors`, which the runtime maps
to status codes with BadRequest field violations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format

from kim.documents.v1 import documents_pb2, documents_pb2_grpc
from kimnetz.errors import FieldViolation, InvalidArgument, Unauthenticated, Unavailable
from kimnetz.runtime.audit import LoggingAuditSink
from kimnetz.runtime.auth import Principal, current_principal
from kimnetz.runtime.federation import FederationClient
from kimnetz.runtime.grpc_server import Registration
from kimnetz.runtime.outbox import OutboxDocument
from kimnetz.runtime.proto_mapping import date_field, to_proto_timestamp
from kimnetz.runtime.settings import Settings
from kimnetz.validation import Violations
from services.documents import SERVICE
from services.documents.conference import ConferenceRecords
from services.documents.conference_client import GrpcConferenceRecords
from services.documents.domain.kinds import KINDS
from services.documents.domain.ports import DocumentRecord, JobRecord, TemplateRecord
from services.documents.federated import AUTO, FEDERATION, NODE
from services.documents.federation_client import peer_figures
from services.documents.figures import CaseFigures, PeerFigures
from services.documents.figures_client import GrpcCaseFigures
from services.documents.messages import KIND_FROM_PROTO as _KIND_FROM_PROTO, KIND_TO_PROTO
from services.documents.repository import OUTBOX_DOCUMENTS as _STORED, MongoDocumentsRepository
from services.documents.service import DocumentsService
from services.documents.settings import DocumentsSettings

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = list(_STORED)

_JOB_STATES = {"requested": documents_pb2.BulkJob.REQUESTED, "done": documents_pb2.BulkJob.DONE,
               "failed": documents_pb2.BulkJob.FAILED}
_SCOPES: dict[int, str] = {documents_pb2.FIGURES_SCOPE_UNSPECIFIED: AUTO,
                           documents_pb2.FIGURES_SCOPE_NODE: NODE,
                           documents_pb2.FIGURES_SCOPE_FEDERATION: FEDERATION}


def conference_api_target(settings: Settings) -> str:
    """The conference api the Protokolle are read from: configured, or this api process itself."""
    return settings.conference_api_target or f"{settings.grpc_host}:{settings.grpc_port}"


def case_api_target(settings: Settings) -> str:
    """The case api the monitoring figures are read from: the node's `case_api_target` (the
    setting the conference service uses too), or this api process itself."""
    return settings.case_api_target or f"{settings.grpc_host}:{settings.grpc_port}"


#: This service asks other nodes (the federation's figures): the composition root hands
#: `registration` the api process's FederationClient.
CALLS_PEERS = True


def registration(settings: Settings, *, federation: FederationClient | None = None) -> Registration:
    """The channels to the conference and case apis connect lazily, at their first use; so do
    those to peer nodes (on a node of a federation, `federation`: the Kreis' reports carry
    its figures)."""
    audit = LoggingAuditSink()
    # Read once, when the api process starts: who signs each organisation's Drucksachen.
    service = DocumentsService(MongoDocumentsRepository(settings.node_id), audit=audit,
                               signatories=DocumentsSettings().signatories)
    channel = grpc.insecure_channel(conference_api_target(settings))
    case_channel = grpc.insecure_channel(case_api_target(settings))
    peers = peer_figures(federation, settings)

    def add_to_server(server: grpc.Server) -> None:
        documents_pb2_grpc.add_DocumentsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            DocumentsServicer(service, lambda token: GrpcConferenceRecords(channel, token),
                              lambda token: GrpcCaseFigures(case_channel, token), peers), server)

    return Registration(SERVICE, add_to_server)


class DocumentsServicer(documents_pb2_grpc.DocumentsServiceServicer):
    def __init__(self, service: DocumentsService,
                 conference_for: Callable[[str], ConferenceRecords] | None = None,
                 figures_for: Callable[[str], CaseFigures] | None = None,
                 peers: PeerFigures | None = None) -> None:
        self.service = service
        self.conference_for = conference_for
        self.figures_for = figures_for
        self.peers = peers

    def _conference(self, context: grpc.ServicerContext) -> ConferenceRecords:
        """The conference service as the caller: their own bearer token is forwarded."""
        if self.conference_for is None:
            raise Unavailable("Dieser Dokumentendienst ist mit keinem Konferenzdienst verbunden.")
        return self.conference_for(_bearer(context))

    def _figures(self, context: grpc.ServicerContext) -> CaseFigures:
        """The case service's figures as the caller: their own bearer token is forwarded."""
        if self.figures_for is None:
            raise Unavailable("Dieser Dokumentendienst ist mit keinem Falldienst verbunden.")
        return self.figures_for(_bearer(context))

    def RenderMonitoringReport(
        self, request: documents_pb2.RenderMonitoringReportRequest, context: grpc.ServicerContext
    ) -> documents_pb2.RenderDocumentResponse:
        v = Violations()
        period_from = date_field(request.period_from, "period_from", v)
        period_to = date_field(request.period_to, "period_to", v)
        v.raise_if_any("Der Berichtszeitraum ist so nicht gültig.")
        record, content = self.service.render_monitoring_report(
            _principal(), self._figures(context), period_from=period_from, period_to=period_to,
            issuer=request.issuer, office=request.office, title=request.title, recipient=request.recipient,
            summary=request.summary, signature_function=request.signature_function,
            template_version=_version(request, "template_version"), peers=self.peers,
            scope=_scope(request.figures_scope))
        return documents_pb2.RenderDocumentResponse(document=document_info(record), content=content)

    def RenderDrucksache(
        self, request: documents_pb2.RenderDrucksacheRequest, context: grpc.ServicerContext
    ) -> documents_pb2.RenderDocumentResponse:
        figures = self._figures(context) if request.figures_from_case_service else None
        record, content = self.service.render_drucksache(
            _principal(), _data(request.input, "input"), figures,
            template_version=_version(request, "template_version"), peers=self.peers,
            scope=_scope(request.figures_scope))
        return documents_pb2.RenderDocumentResponse(document=document_info(record), content=content)

    def RenderConferenceProtocol(
        self, request: documents_pb2.RenderConferenceProtocolRequest, context: grpc.ServicerContext
    ) -> documents_pb2.RenderDocumentResponse:
        v = Violations()
        next_date = date_field(request.next_date, "next_date", v)
        v.raise_if_any("Das Datum der nächsten Fallkonferenz ist so nicht gültig.")
        record, content = self.service.render_conference_protocol(
            _principal(), self._conference(context), request.conference_id.strip(),
            coordination_office=request.coordination_office, signature_function=request.signature_function,
            next_date=next_date, template_version=_version(request, "template_version"))
        return documents_pb2.RenderDocumentResponse(document=document_info(record), content=content)

    def RenderSessionProtocol(
        self, request: documents_pb2.RenderSessionProtocolRequest, context: grpc.ServicerContext
    ) -> documents_pb2.RenderDocumentResponse:
        record, content = self.service.render_session_protocol(
            _principal(), self._conference(context), request.session_id.strip(), issuer=request.issuer,
            chair=request.chair, signature_function=request.signature_function,
            template_version=_version(request, "template_version"))
        return documents_pb2.RenderDocumentResponse(document=document_info(record), content=content)

    def RenderDocument(
        self, request: documents_pb2.RenderDocumentRequest, context: grpc.ServicerContext
    ) -> documents_pb2.RenderDocumentResponse:
        record, content = self.service.render_document(
            _principal(), _kind(request.kind), _data(request.input, "input"),
            _version(request, "template_version"))
        return documents_pb2.RenderDocumentResponse(document=document_info(record), content=content)

    def RequestContracts(
        self, request: documents_pb2.RequestContractsRequest, context: grpc.ServicerContext
    ) -> documents_pb2.RequestContractsResponse:
        job = self.service.request_contracts(
            _principal(), _data(request.allocation_file, "allocation_file"),
            _version(request, "template_version"))
        return documents_pb2.RequestContractsResponse(job_id=job.job_id, expected=job.expected)

    def GetBulkJob(
        self, request: documents_pb2.GetBulkJobRequest, context: grpc.ServicerContext
    ) -> documents_pb2.BulkJob:
        job, documents = self.service.get_bulk_job(_principal(), request.job_id)
        return job_message(job, documents)

    def ListDocuments(
        self, request: documents_pb2.ListDocumentsRequest, context: grpc.ServicerContext
    ) -> documents_pb2.ListDocumentsResponse:
        kind = _kind(request.kind) if request.kind else ""
        records = self.service.list_documents(_principal(), kind, request.bulk_job_id, request.limit)
        return documents_pb2.ListDocumentsResponse(documents=[document_info(r) for r in records])

    def GetDocument(
        self, request: documents_pb2.GetDocumentRequest, context: grpc.ServicerContext
    ) -> documents_pb2.GetDocumentResponse:
        record, content = self.service.get_document(_principal(), request.document_id)
        return documents_pb2.GetDocumentResponse(document=document_info(record), content=content,
                                                 input_json=record.input_json)

    def GetDocumentPdf(
        self, request: documents_pb2.GetDocumentPdfRequest, context: grpc.ServicerContext
    ) -> documents_pb2.DocumentPdf:
        record, content, filename = self.service.get_document_pdf(_principal(), request.document_id)
        return documents_pb2.DocumentPdf(document=document_info(record), content=content, filename=filename)

    def GetDocumentCharts(
        self, request: documents_pb2.GetDocumentChartsRequest, context: grpc.ServicerContext
    ) -> documents_pb2.DocumentCharts:
        record, charts = self.service.get_document_charts(_principal(), request.document_id)
        return documents_pb2.DocumentCharts(document=document_info(record), charts=[
            documents_pb2.DocumentChart(
                key=c.key, title=c.spec.title, axis_label=c.spec.axis_label, png=c.png,
                bars=[documents_pb2.ChartBar(label=cell.label, shown=cell.shown) for cell in c.spec.cells])
            for c in charts])

    def UploadTemplate(
        self, request: documents_pb2.UploadTemplateRequest, context: grpc.ServicerContext
    ) -> documents_pb2.TemplateVersion:
        kind = _kind(request.kind)
        record = self.service.upload_template(_principal(), kind, request.content, request.filename,
                                              request.comment)
        return template_message(record, sorted(KINDS[kind].variables))

    def ValidateTemplate(
        self, request: documents_pb2.ValidateTemplateRequest, context: grpc.ServicerContext
    ) -> documents_pb2.ValidateTemplateResponse:
        problems = self.service.validate_template(_principal(), _kind(request.kind), request.content)
        return documents_pb2.ValidateTemplateResponse(problems=problems)

    def ListTemplateVersions(
        self, request: documents_pb2.ListTemplateVersionsRequest, context: grpc.ServicerContext
    ) -> documents_pb2.ListTemplateVersionsResponse:
        listing = self.service.list_template_versions(_principal(), _kind(request.kind))
        kind = listing.kind
        variables = sorted(kind.variables)
        versions = [template_message(r, variables) for r in listing.versions]
        versions.append(documents_pb2.TemplateVersion(
            kind=KIND_TO_PROTO[kind.id], version=0, sha256=listing.builtin_sha256,
            filename=kind.default_template, comment="mitgelieferte Standardvorlage", variables=variables))
        return documents_pb2.ListTemplateVersionsResponse(versions=versions)


def document_info(record: DocumentRecord) -> documents_pb2.DocumentInfo:
    return documents_pb2.DocumentInfo(
        document_id=record.document_id, kind=KIND_TO_PROTO[record.kind], organization=record.organization,
        filename=record.filename, sha256=record.sha256, size=record.size, template_id=record.template_id,
        template_version=record.template_version, generated_by=record.generated_by,
        generated_by_username=record.generated_by_username,
        created_at=to_proto_timestamp(record.created_at), bulk_job_id=record.bulk_job_id,
        title=record.title,
    )


def template_message(record: TemplateRecord, variables: list[str]) -> documents_pb2.TemplateVersion:
    return documents_pb2.TemplateVersion(
        kind=KIND_TO_PROTO[record.kind], organization=record.organization, version=record.version,
        sha256=record.sha256, size=record.size, filename=record.filename, comment=record.comment,
        uploaded_by=record.uploaded_by, uploaded_at=to_proto_timestamp(record.uploaded_at),
        variables=variables,
    )


def job_message(job: JobRecord, documents: list[DocumentRecord]) -> documents_pb2.BulkJob:
    return documents_pb2.BulkJob(job_id=job.job_id, state=_JOB_STATES[job.state], expected=job.expected,
                                 documents=[document_info(d) for d in documents], error=job.error)


def _principal() -> Principal:
    principal = current_principal.get()
    if principal is None:  # only without the auth interceptor, i.e. a misbuilt server
        raise Unauthenticated("Anmeldung erforderlich.")
    return principal


def _bearer(context: grpc.ServicerContext) -> str:
    metadata = dict(context.invocation_metadata() or ())
    return str(metadata.get("authorization", "")).partition(" ")[2].strip()


def _kind(value: int) -> str:
    kind = _KIND_FROM_PROTO.get(value)
    if kind is None:
        raise InvalidArgument([FieldViolation("kind", "Dokumentart angeben (z. B. CONTRACT, DRUCKSACHE).")])
    return kind


def _scope(value: int) -> str:
    scope = _SCOPES.get(value)
    if scope is None:
        raise InvalidArgument([FieldViolation(
            "figures_scope", "Unbekannter Umfang; erlaubt: FIGURES_SCOPE_NODE, FIGURES_SCOPE_FEDERATION.")])
    return scope


def _data(struct: Any, field: str) -> dict[str, Any]:
    data: dict[str, Any] = json_format.MessageToDict(struct)
    if not data:
        raise InvalidArgument([FieldViolation(field, "Eingabedaten fehlen.")])
    return data


def _version(request: Any, field: str) -> int | None:
    return int(getattr(request, field)) if request.HasField(field) else None
