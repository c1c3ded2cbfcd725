"""The documents service layer: authorise, check, render, store, record the event.

Shared by the api process (single documents, in a request thread: a render costs 1-4 ms) and the
worker (bulk jobs). It knows the caller as a `Principal`, storage as the `DocumentsRepository`
port (domain/ports.py) and the other services as the ports `ConferenceRecords`, `CaseFigures` and
`PeerFigures`; it records domain events (domain/events.py) and knows neither gRPC, protobuf,
mongoengine nor nameko. Time comes from `clock` (UTC), so tests set it.

Documents belong to the organisation the caller acts for. Asking for another organisation's
document or job gets the same refusal as asking for one that does not exist, so nobody learns
what other organisations hold.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any

from kimnetz.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from kimnetz.runtime import metrics
from kimnetz.runtime.audit import AuditEvent, AuditSink, LoggingAuditSink
from kimnetz.runtime.auth import Principal, require_role
from services.documents.conference import ConferenceRecords
from services.documents.domain.contract import parse_allocation_file
from services.documents.domain.events import ContractsRequested, DocumentGenerated, TemplateVersionUploaded
from services.documents.domain.federation import CombinedFigures
from services.documents.domain.kinds import (
    CONTRACT,
    DRUCKSACHE,
    FALLKONFERENZ,
    KINDS,
    LENKUNGSGRUPPE,
    MONITORING,
    Kind,
    Prepared,
    contract_document,
)
from services.documents.domain.monitoring import ChartSpec
from services.documents.domain.policy import RENDER_ROLES, TEMPLATE_ROLES, template_readers
from services.documents.domain.ports import DocumentRecord, DocumentsRepository, JobRecord, TemplateRecord
from services.documents.domain.retention import due as retention_due, kept_kinds
from services.documents.domain.signatory import Signer
from services.documents.federated import AUTO, read_figures
from services.documents.figures import CaseFigures, CaseFiguresRecord, PeerFigures, ReportPeriod
from services.documents.inputs import BERLIN
from services.documents.inputs.drucksache_figures import drucksache_with_figures
from services.documents.inputs.fallkonferenz_protokoll import ConferenceOptions, fallkonferenz_input
from services.documents.inputs.lenkungsgruppe_protokoll import SessionOptions, lenkungsgruppe_input
from services.documents.inputs.monitoringbericht import (
    ReportOptions,
    federation_monitoring_input,
    monitoring_input,
)
from services.documents.rendering import (
    Renderer,
    TemplateRef,
    control_character_violations,
    validate_template as check_template_file,
)

NOT_YOURS = "Dokument nicht gefunden oder kein Zugriff."
JOB_NOT_YOURS = "Auftrag nicht gefunden oder kein Zugriff."
BUILTIN_VERSION = 0
MAX_LIST = 500

# Stable ids for the documents of a bulk job: a redelivered job finds what it already stored.
_JOB_NAMESPACE = uuid.UUID("0b6f5d3e-7a51-4c1e-9d0e-6a4f7c2b9e11")


@dataclass(frozen=True)
class ResolvedTemplate:
    ref: TemplateRef
    template_id: str
    version: int
    sha256: str


@dataclass(frozen=True)
class Chart:
    """One chart of a document: its placeholder, what it shows and the PNG."""

    key: str
    spec: ChartSpec
    png: bytes


@dataclass(frozen=True)
class TemplateVersionList:
    """An organisation's versions of a kind's template, newest first, and the built-in one's hash
    (version 0, never stored)."""

    kind: Kind
    versions: list[TemplateRecord]
    builtin_sha256: str


class DocumentsService:
    """One public method per use case, named after its rpc in snake_case (`RenderDocument` ->
    `render_document`); `run_contracts_job`, `fail_contracts_job` and `apply_retention` are the
    worker's (event ContractsRequested, retention timer)."""

    def __init__(self, store: DocumentsRepository, renderer: Renderer | None = None,
                 audit: AuditSink | None = None, clock: Callable[[], datetime] | None = None,
                 signatories: Mapping[str, Signer] | None = None,
                 to_pdf: Callable[[bytes], bytes] | None = None) -> None:
        """`to_pdf`: DOCX bytes -> PDF bytes (default: LibreOffice, services/documents/pdf.py)."""
        self.store = store
        self.renderer = renderer or Renderer()
        self.audit = audit or LoggingAuditSink()
        self.clock = clock or _utc_now
        self.signatories = dict(signatories or {})
        """Who signs each organisation's Drucksachen (settings: KIM_DOCUMENTS_SIGNATORIES)."""
        self.to_pdf = to_pdf or _libreoffice_pdf

    def _signed(self, organization: str, data: Any) -> Any:
        """A Drucksache without `signature` is signed by the organisation's signatory (Landrat,
        Bürgermeister*in, Dezernent*in from the settings), never by whoever typed it."""
        if not isinstance(data, dict) or data.get("signature") is not None:
            return data
        signer = self.signatories.get(organization)
        if signer is None:
            raise InvalidArgument([FieldViolation(
                "signature", f"Wer unterschreibt? Unterschrift angeben oder für {organization} in den "
                             "Einstellungen eintragen (KIM_DOCUMENTS_SIGNATORIES).")],
                message="Die Eingabe enthält Fehler.")
        return {**data, "signature": {"name": signer.name, "function": signer.function}}

    def _today(self) -> date:
        """Today in the Kreis' time zone (the Stand of figures)."""
        return self.clock().astimezone(BERLIN).date()

    # --- retention ------------------------------------------------------------------------------

    def apply_retention(self, period: timedelta, now: datetime | None = None) -> list[DocumentRecord]:
        """Deletes every generated case record (`domain.retention`) older than `period`, its
        content and its input; each deletion is audited (kind, id, organisation, date; no
        title: a title may name a place or a person). Returns the deleted documents."""
        now = now or self.clock()
        deleted = []
        for record in self.store.documents_due(now - period, kept_kinds()):
            if not retention_due(record.kind, _aware(record.created_at), now, period):
                continue
            if not self.store.delete_document(record.document_id):
                continue  # another worker's run deleted (and audited) it meanwhile
            self.audit.record(AuditEvent.now(
                kind="retention", outcome="deleted", action="DocumentRetention",
                organization=record.organization, node=self.store.node_id,
                reason=f"Löschfrist abgelaufen: {record.kind} {record.document_id} vom "
                       f"{record.created_at:%d.%m.%Y}"))
            deleted.append(record)
        return deleted

    # --- rendering ------------------------------------------------------------------------------

    def render_document(self, principal: Principal, kind_id: str, data: Any,
                        template_version: int | None = None) -> tuple[DocumentRecord, bytes]:
        kind = _kind(kind_id)
        organization = self._member(principal)
        require_role(principal, *RENDER_ROLES[kind.id], action=f"{kind.label} erzeugen", audit=self.audit)
        template = self._template(organization, kind, template_version)
        _refuse_control_characters(data)
        if kind is DRUCKSACHE:
            data = self._signed(organization, data)
        prepared = kind.prepare(data)
        return self._render_and_store(principal, organization, kind, template, prepared, data,
                                      document_id=str(uuid.uuid4()))

    def render_conference_protocol(
        self, principal: Principal, records: ConferenceRecords, conference_id: str, *,
        coordination_office: str = "", signature_function: str = "", next_date: date | None = None,
        template_version: int | None = None,
    ) -> tuple[DocumentRecord, bytes]:
        """The Protokoll of a closed Fallkonferenz, read from the conference service as the caller
        (`records` carries the caller's token: the conference service decides who may read)."""
        options = ConferenceOptions(principal.username or principal.subject, coordination_office.strip(),
                                    signature_function.strip(), next_date)
        return self._render_live(principal, FALLKONFERENZ, "conference_id", conference_id, template_version,
                                 lambda: fallkonferenz_input(records.conference(conference_id), options))

    def render_session_protocol(
        self, principal: Principal, records: ConferenceRecords, session_id: str, *, issuer: str = "",
        chair: str = "", signature_function: str = "", template_version: int | None = None,
    ) -> tuple[DocumentRecord, bytes]:
        """The Beschlussprotokoll of a closed Lenkungsgruppe session with the Beschlussverfolgung
        of its Lenkungsgruppe, read from the conference service as the caller."""
        options = SessionOptions(principal.username or principal.subject, issuer.strip(), chair.strip(),
                                 signature_function.strip())

        def read() -> dict[str, Any]:
            session = records.session(session_id)
            return lenkungsgruppe_input(session, records.gremium(session.gremium_id),
                                        records.sessions(session.gremium_id),
                                        records.beschluesse(session.gremium_id), options)

        return self._render_live(principal, LENKUNGSGRUPPE, "session_id", session_id, template_version, read)

    def render_monitoring_report(
        self, principal: Principal, figures: CaseFigures, *, period_from: date | None = None,
        period_to: date | None = None, issuer: str = "", office: str = "", title: str = "",
        recipient: str = "", summary: str = "", signature_function: str = "",
        template_version: int | None = None, today: date | None = None,
        peers: PeerFigures | None = None, scope: str = AUTO,
    ) -> tuple[DocumentRecord, bytes]:
        """A Monitoringbericht from the node's figures as the case service gives them to the
        caller (`figures` carries the caller's token: the case service decides who may read);
        on the Kreis' node (`peers`, `scope`: federated.py) the federation's figures."""
        stand = today or self._today()
        options = ReportOptions(
            principal.username or principal.subject, principal.organization or "", stand, period_from,
            period_to, issuer.strip(), office.strip(), title.strip(), recipient.strip(), summary,
            signature_function.strip())

        def read() -> dict[str, Any]:
            # The period is checked before the case service is asked: a wrong request causes no read.
            end = period_to or stand
            if (period_from or end.replace(month=1, day=1)) > end:
                raise InvalidArgument([FieldViolation(
                    "period_to" if period_to else "period_from",
                    "Der Berichtszeitraum endet vor seinem Beginn.")])
            read = self._read_figures(principal, figures, peers, scope,
                                      ReportPeriod(period_from or end.replace(month=1, day=1), end))
            if isinstance(read, CombinedFigures):
                return federation_monitoring_input(read, options)
            return monitoring_input(read, options)

        return self._render_live(principal, MONITORING, "", "", template_version, read)

    def render_drucksache(
        self, principal: Principal, data: Any, figures: CaseFigures | None, *,
        template_version: int | None = None, today: date | None = None,
        peers: PeerFigures | None = None, scope: str = AUTO,
    ) -> tuple[DocumentRecord, bytes]:
        """A Drucksache; with `figures` its Sachdarstellung carries the node's monitoring figures,
        read from the case service as the caller, or on the Kreis' node the federation's."""
        if figures is None:
            return self.render_document(principal, DRUCKSACHE.id, data, template_version)
        stand = today or self._today()

        def read() -> Any:
            signed = self._signed(principal.organization or "", data)
            DRUCKSACHE.prepare(signed)  # a wrong input is reported before the case service is asked
            read = self._read_figures(principal, figures, peers, scope)
            return drucksache_with_figures(signed, read, stand)

        return self._render_live(principal, DRUCKSACHE, "", "", template_version, read)

    def _read_figures(self, principal: Principal, figures: CaseFigures, peers: PeerFigures | None,
                      scope: str, period: ReportPeriod | None = None) -> CaseFiguresRecord | CombinedFigures:
        return read_figures(figures, peers, scope, acting_user=principal.username or principal.subject,
                            now=lambda: self.clock().astimezone(BERLIN), period=period)

    def _render_live(self, principal: Principal, kind: Kind, id_field: str, source_id: str,
                     template_version: int | None,
                     read: Callable[[], Any]) -> tuple[DocumentRecord, bytes]:
        organization = self._member(principal)
        # Roles and template first: a refused or misconfigured call never reads the other service.
        require_role(principal, *RENDER_ROLES[kind.id], action=f"{kind.label} erzeugen", audit=self.audit)
        if id_field and not source_id.strip():
            raise InvalidArgument([FieldViolation(id_field, "Kennung angeben.")])
        template = self._template(organization, kind, template_version)
        data = read()
        prepared = kind.prepare(data)
        return self._render_and_store(principal, organization, kind, template, prepared, data,
                                      document_id=str(uuid.uuid4()))

    def request_contracts(self, principal: Principal, data: Any,
                          template_version: int | None = None) -> JobRecord:
        """Check the allocation file now (errors reach the caller at once), render later."""
        organization = self._member(principal)
        require_role(principal, *RENDER_ROLES["contract"], action="Verträge erzeugen", audit=self.audit)
        _refuse_control_characters(data)
        allocations = parse_allocation_file(data)
        self._template(organization, CONTRACT, template_version)
        now = self.clock()
        job = JobRecord(
            job_id=str(uuid.uuid4()), organization=organization, requested_by=principal.subject,
            requested_by_username=principal.username, input_json=_json(data),
            template_version=template_version, expected=len(allocations.allocations), state="requested",
            error="", created_at=now,
        )
        self.store.add_job(job, [ContractsRequested(job.job_id, organization, job.expected, now)])
        return job

    def run_contracts_job(self, job_id: str) -> int:
        """The worker's part: one stored contract per allocation; returns how many it stored now.
        Idempotent: documents already stored by an earlier delivery are kept, not duplicated."""
        job = self.store.job(job_id)
        if job is None or job.state != "requested":
            return 0
        acting = Principal(subject=job.requested_by, username=job.requested_by_username,
                           organization=job.organization, roles=frozenset(RENDER_ROLES["contract"]))
        stored = 0
        try:
            data = json.loads(job.input_json)
            allocations = parse_allocation_file(data)
            template = self._template(job.organization, CONTRACT, job.template_version)
            for index in range(len(allocations.allocations)):
                document_id = str(uuid.uuid5(_JOB_NAMESPACE, f"{job_id}:{index}"))
                if self.store.has_document(document_id):
                    continue
                prepared = contract_document(allocations, index)
                self._render_and_store(acting, job.organization, CONTRACT, template, prepared,
                                       {**data, "allocations": [data["allocations"][index]]},
                                       document_id=document_id, bulk_job_id=job_id)
                stored += 1
        except (InvalidArgument, NotFound) as exc:
            self.store.finish_job(job_id, "failed", self.clock(), str(exc))
            return stored
        self.store.finish_job(job_id, "done", self.clock())
        return stored

    def fail_contracts_job(self, job_id: str, reason: str) -> None:
        """The worker's part when a job failed for good: it ends "failed" with `reason` (German,
        the requester reads it), unless it ended already."""
        job = self.store.job(job_id)
        if job is not None and job.state == "requested":
            self.store.finish_job(job_id, "failed", self.clock(), reason)

    def get_bulk_job(self, principal: Principal, job_id: str) -> tuple[JobRecord, list[DocumentRecord]]:
        organization = self._member(principal)
        job = self.store.job(job_id)
        if job is None or job.organization != organization:
            raise PermissionDenied(JOB_NOT_YOURS)
        return job, self.store.documents(organization, bulk_job_id=job_id, limit=MAX_LIST)

    def _render_and_store(self, principal: Principal, organization: str, kind: Kind,
                          template: ResolvedTemplate, prepared: Prepared, data: Any, *,
                          document_id: str, bulk_job_id: str = "") -> tuple[DocumentRecord, bytes]:
        content = self.renderer.render(template.ref, prepared.context, self._charts(template.ref, prepared))
        now = self.clock()
        record = DocumentRecord(
            document_id=document_id, organization=organization, kind=kind.id, title=prepared.title,
            filename=prepared.filename, sha256=hashlib.sha256(content).hexdigest(), size=len(content),
            template_id=template.template_id, template_version=template.version,
            template_sha256=template.sha256, input_json=_json(data), generated_by=principal.subject,
            generated_by_username=principal.username, created_at=now, bulk_job_id=bulk_job_id,
        )
        event = DocumentGenerated(
            document_id=document_id, organization=organization, kind=kind.id, sha256=record.sha256,
            template_id=template.template_id, template_version=template.version,
            generated_by=principal.subject, occurred_at=now, bulk_job_id=bulk_job_id,
        )
        self.store.add_document(record, content, [event])
        metrics.DOCUMENTS.labels(kind.id).inc()
        return record, content

    def _charts(self, ref: TemplateRef, prepared: Prepared) -> Mapping[str, bytes]:
        slots = self.renderer.compiled(ref).charts
        wanted = {key: spec for key, spec in prepared.charts.items() if key in slots}
        if not wanted:
            return {}
        from services.documents import charts  # matplotlib only where a chart is drawn

        return {key: charts.draw(spec, slots[key].width_inches, slots[key].height_inches)
                for key, spec in wanted.items()}

    # --- reading --------------------------------------------------------------------------------

    def list_documents(self, principal: Principal, kind_id: str = "", bulk_job_id: str = "",
                       limit: int = 0) -> list[DocumentRecord]:
        organization = self._member(principal)
        if kind_id:
            _kind(kind_id)
        limit = 100 if limit <= 0 else min(limit, MAX_LIST)
        return self.store.documents(organization, kind=kind_id, bulk_job_id=bulk_job_id, limit=limit)

    def get_document(self, principal: Principal, document_id: str) -> tuple[DocumentRecord, bytes]:
        record = self._own(principal, document_id)
        return record, self.store.content(document_id)

    def _own(self, principal: Principal, document_id: str) -> DocumentRecord:
        """The record of a document of the caller's organisation; unknown and foreign alike refused."""
        organization = self._member(principal)
        record = self.store.document(document_id) if document_id else None
        if record is None or record.organization != organization:
            raise PermissionDenied(NOT_YOURS)
        return record

    def get_document_pdf(self, principal: Principal, document_id: str) -> tuple[DocumentRecord, bytes, str]:
        """The document as PDF and its file name; refused like `get_document` before converting."""
        record, content = self.get_document(principal, document_id)
        return record, self.to_pdf(content), f"{PurePath(record.filename).stem}.pdf"

    def get_document_charts(
        self, principal: Principal, document_id: str
    ) -> tuple[DocumentRecord, list[Chart]]:
        """The document's charts drawn again from its stored input (what its template's picture
        placeholders got, at the built-in size); none for a kind without charts."""
        record = self._own(principal, document_id)
        kind = KINDS[record.kind]
        if not kind.charts:
            return record, []
        from services.documents import charts  # matplotlib only where a chart is drawn

        prepared = kind.prepare(json.loads(record.input_json))
        return record, [Chart(key, prepared.charts[key], charts.draw(prepared.charts[key]))
                        for key in kind.charts if key in prepared.charts]

    # --- templates ------------------------------------------------------------------------------

    def upload_template(self, principal: Principal, kind_id: str, content: bytes, filename: str = "",
                        comment: str = "") -> TemplateRecord:
        kind = _kind(kind_id)
        organization = self._member(principal)
        require_role(principal, *TEMPLATE_ROLES, action="Vorlage hochladen", audit=self.audit)
        check_template_file(content, kind, self.renderer.env)
        sha256 = hashlib.sha256(content).hexdigest()
        now = self.clock()

        def uploaded(version: int) -> TemplateVersionUploaded:
            return TemplateVersionUploaded(organization=organization, kind=kind.id, version=version,
                                           sha256=sha256, uploaded_by=principal.subject, occurred_at=now)

        return self.store.add_template(organization, kind.id, content, sha256=sha256, filename=filename,
                                       comment=comment, uploaded_by=principal.username or principal.subject,
                                       uploaded_at=now, event=uploaded)

    def validate_template(self, principal: Principal, kind_id: str, content: bytes) -> list[str]:
        kind = _kind(kind_id)
        self._member(principal)
        require_role(principal, *TEMPLATE_ROLES, action="Vorlage prüfen", audit=self.audit)
        try:
            check_template_file(content, kind, self.renderer.env)
        except InvalidArgument as exc:
            return [violation.description for violation in exc.violations]
        return []

    def list_template_versions(self, principal: Principal, kind_id: str) -> TemplateVersionList:
        kind = _kind(kind_id)
        organization = self._member(principal)
        require_role(principal, *template_readers(kind.id), action="Vorlagen ansehen", audit=self.audit)
        return TemplateVersionList(kind, self.store.templates(organization, kind.id),
                                   self.renderer.builtin_sha256(kind))

    def _template(self, organization: str, kind: Kind, version: int | None) -> ResolvedTemplate:
        if version is not None and version < 0:
            raise InvalidArgument([FieldViolation("template_version", "Versionen beginnen bei 0.")])
        if version == BUILTIN_VERSION:
            return self._builtin(kind)
        record = (self.store.latest_template(organization, kind.id) if version is None
                  else self.store.template(organization, kind.id, version))
        if record is None:
            if version is None:
                return self._builtin(kind)
            raise NotFound(f"Vorlage „{kind.label}“ Version {version} gibt es für {organization} nicht.")
        ref = TemplateRef(f"{organization}:{kind.id}", f"{record.version}:{record.sha256}")
        if not self.renderer.is_loaded(ref):
            self.renderer.load(ref, self.store.template_content(record), kind)
        return ResolvedTemplate(ref, f"{organization}:{kind.id}", record.version, record.sha256)

    def _builtin(self, kind: Kind) -> ResolvedTemplate:
        ref = self.renderer.builtin(kind)
        return ResolvedTemplate(ref, ref.template_id, BUILTIN_VERSION, self.renderer.builtin_sha256(kind))

    @staticmethod
    def _member(principal: Principal) -> str:
        if not principal.organization:
            raise PermissionDenied("Dokumente gehören einer Organisation; Sie handeln für keine.")
        return principal.organization


def _refuse_control_characters(data: Any) -> None:
    """Input with characters Word cannot store is refused with the fields named (rendering
    also removes them, for data read from other services)."""
    violations = control_character_violations(data)
    if violations:
        raise InvalidArgument(violations, message="Die Eingabe enthält Steuerzeichen.")


def _kind(kind_id: str) -> Kind:
    kind = KINDS.get(kind_id)
    if kind is None:
        raise InvalidArgument(
            [FieldViolation("kind", f"Unbekannte Dokumentart; erlaubt: {', '.join(KINDS)}.")]
        )
    return kind


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def _libreoffice_pdf(content: bytes) -> bytes:
    from services.documents import pdf

    return pdf.docx_to_pdf(content)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """Stored times come back naive (UTC) where the connection is not tz-aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
