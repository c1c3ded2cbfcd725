"""Entry of the case service into an api process: the `CaseService` gRPC servicer for people,
and the `CaseFederation` servicer for peer nodes.

Who enters `CaseService`: every caller with a bearer token the auth interceptor accepted (its
Principal is `current_principal`). Who enters `CaseFederation`: only a peer node on the
mutual-TLS port, whose certificate the node directory knows as active, whose role
`FEDERATION_METHODS` allows and whose token is of its own organisation (kimnetz.runtime.grpc_interceptors
checks all of that; `current_peer` is that node). Each method is a translator: request ->
command (contract.py) -> the service layer, which authorises, audits and saves -> response.
Errors are `kimnetz.errors`; the error interceptor turns them into status codes with German field
violations. A foreign case answers NOT_FOUND with the same message as a missing one (the
service layer audits the real reason).

After every save the outbox relay is nudged, so the case's events leave at once instead of
at the next sweep; the relay's sweep still sends them if the nudge finds the broker away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from kim.case.v1 import case_pb2, case_pb2_grpc, federation_pb2, federation_pb2_grpc
from kimnetz.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated
from kimnetz.runtime.audit import AuditEvent, AuditSink
from kimnetz.runtime.auth import current_principal
from kimnetz.runtime.grpc_peer import ACTING_USER_HEADER, current_peer
from kimnetz.runtime.grpc_server import Registration
from kimnetz.runtime.outbox import OutboxDocument
from kimnetz.runtime.settings import Settings
from kimnetz.validation import Violations
from services.case import SERVICE, contract
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.audit import AuditDraft
from services.case.domain.case import Case
from services.case.domain.policy import Actor
from services.case.domain.ports import CaseRepository
from services.case.repository import CaseChangeDocument, MongoCaseRepository

C = TypeVar("C")
OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = [CaseChangeDocument]
CASE_METHOD_PREFIX = f"/{case_pb2.DESCRIPTOR.services_by_name['CaseService'].full_name}/"
FEDERATION_METHOD_PREFIX = f"/{federation_pb2.DESCRIPTOR.services_by_name['CaseFederation'].full_name}/"
#: What peer nodes may call on the mutual-TLS port, and with which node role: a Kreis node asks
#: for the briefs of cases proposed to it and for the figures of its Monitoringbericht.
FEDERATION_METHODS: dict[str, frozenset[str] | None] = {
    "/kim.case.v1.CaseFederation/GetCaseBriefs": frozenset({"district"}),
    "/kim.case.v1.CaseFederation/GetFigures": frozenset({"district"}),
}
log = logging.getLogger(__name__)

#: Purpose written to the audit trail when a request does not state one.
DEFAULT_PURPOSE = "Fallbearbeitung"
AUDIT_PAGE_SIZE, MAX_AUDIT_PAGE_SIZE = 100, 500


def acting() -> Actor:
    """The caller as the domain knows it. The interceptor guarantees a principal; its absence
    means the servicer was mounted without authentication, which must never answer."""
    principal = current_principal.get()
    if principal is None:
        raise Unauthenticated("Anmeldung erforderlich.")
    return Actor(principal.subject, principal.organization or "", principal.roles)


def peer_acting(*, acting_user_required: bool = False) -> Actor:
    """The calling peer node as the domain knows it: node X of organisation Z (role R) on behalf
    of user Y. The peer interceptor guarantees a peer with its directory entry on the
    mutual-TLS port; without one this servicer was reached another way and must not answer."""
    peer = current_peer.get()
    if peer is None or not peer.node_id:
        raise PermissionDenied("Dieser Aufruf ist Knoten des Verbunds vorbehalten.")
    if acting_user_required and not peer.acting_user:
        raise InvalidArgument([FieldViolation(
            ACTING_USER_HEADER, "Benutzername der Person angeben, für die der Knoten anfragt.")],
            "Die Angabe der handelnden Person fehlt.")
    return Actor.peer(peer.node_id, peer.organization, peer.role, peer.acting_user)


def case_id_of(request: Message, field: str = "case_id", *, required: bool = True) -> str:
    v = Violations()
    value = v.identifier(field, getattr(request, field), required=required)
    v.raise_if_any()
    return value


def purpose_of(request: Message, default: str = DEFAULT_PURPOSE) -> str:
    v = Violations()
    purpose = v.text("purpose", getattr(request, "purpose", ""), required=False)
    v.raise_if_any()
    return purpose or default


class CaseServicer(case_pb2_grpc.CaseServiceServicer):
    """One method per rpc of kim.case.v1.CaseService, each calling the use case of the same
    name in snake_case on one area of the service layer (`AdmitCase` ->
    `Fallvorschlaege.admit_case`; composition.py)."""

    def __init__(self, services: CaseServices) -> None:
        self.fallvorschlaege = services.fallvorschlaege
        self.fallarbeit = services.fallarbeit
        self.einwilligungen = services.einwilligungen
        self.falldaten = services.falldaten
        self.verbund = services.verbund
        self.datenschutz = services.datenschutz
        self.zielgruppen = services.zielgruppen
        self.notify_outbox: Callable[[], None] = lambda: None

    def ProposeCase(self, request: case_pb2.ProposeCaseRequest,
                    context: grpc.ServicerContext) -> case_pb2.Case:
        actor = acting()
        case = self.fallvorschlaege.propose_case(actor,
                                                 contract.proposal_command(request, actor.organization))
        self.notify_outbox()
        return contract.case_message(case)

    def GetCase(self, request: case_pb2.GetCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        case = self.falldaten.get_case(acting(), case_id_of(request), purpose_of(request))
        return contract.case_message(case)

    # -- commands on one case: the request's command, one use case, the case or a receipt ---------

    def RecordConsent(self, request: case_pb2.RecordConsentRequest,
                      context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RecordConsent)
        return self._answer(actor, self.einwilligungen.record_consent(actor, command, purpose))

    def RevokeConsent(self, request: case_pb2.RevokeConsentRequest,
                      context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RevokeConsent)
        return self._answer(actor, self.einwilligungen.revoke_consent(actor, command, purpose))

    def SubmitForReview(self, request: case_pb2.SubmitForReviewRequest,
                        context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.SubmitForReview)
        return self._answer(actor, self.fallvorschlaege.submit_for_review(actor, command, purpose))

    def AdmitCase(self, request: case_pb2.AdmitCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.AdmitCase)
        return self._answer(actor, self.fallvorschlaege.admit_case(actor, command, purpose))

    def ReferCase(self, request: case_pb2.ReferCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.ReferCase)
        return self._answer(actor, self.fallvorschlaege.refer_case(actor, command, purpose))

    def RejectCase(self, request: case_pb2.RejectCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RejectCase)
        return self._answer(actor, self.fallvorschlaege.reject_case(actor, command, purpose))

    def DeferCase(self, request: case_pb2.DeferCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.DeferCase)
        return self._answer(actor, self.fallvorschlaege.defer_case(actor, command, purpose))

    def StartAssessment(self, request: case_pb2.CaseRef, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.StartAssessment)
        return self._answer(actor, self.fallarbeit.start_assessment(actor, command, purpose))

    def StartPlanning(self, request: case_pb2.CaseRef, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.StartPlanning)
        return self._answer(actor, self.fallarbeit.start_planning(actor, command, purpose))

    def ActivatePlan(self, request: case_pb2.CaseRef, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.ActivatePlan)
        return self._answer(actor, self.fallarbeit.activate_plan(actor, command, purpose))

    def CloseCase(self, request: case_pb2.CloseCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.CloseCase)
        return self._answer(actor, self.fallarbeit.close_case(actor, command, purpose))

    def ReopenCase(self, request: case_pb2.ReopenCaseRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.ReopenCase)
        return self._answer(actor, self.fallarbeit.reopen_case(actor, command, purpose))

    def RecordNeed(self, request: case_pb2.RecordNeedRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RecordNeed)
        return self._answer(actor, self.fallarbeit.record_need(actor, command, purpose))

    def AddGoal(self, request: case_pb2.AddGoalRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.AddGoal)
        return self._answer(actor, self.fallarbeit.add_goal(actor, command, purpose))

    def AddStep(self, request: case_pb2.AddStepRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.AddStep)
        return self._answer(actor, self.fallarbeit.add_step(actor, command, purpose))

    def FinishStep(self, request: case_pb2.FinishStepRequest, context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.FinishStep)
        return self._answer(actor, self.fallarbeit.finish_step(actor, command, purpose))

    def RecordProgress(self, request: case_pb2.RecordProgressRequest,
                       context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RecordProgress)
        return self._answer(actor, self.fallarbeit.record_progress(actor, command, purpose))

    def RecordReview(self, request: case_pb2.RecordReviewRequest,
                     context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RecordReview)
        return self._answer(actor, self.fallarbeit.record_review(actor, command, purpose))

    def RecordBarrier(self, request: case_pb2.RecordBarrierRequest,
                      context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.RecordBarrier)
        return self._answer(actor, self.fallarbeit.record_barrier(actor, command, purpose))

    def ChangeBarrierStatus(self, request: case_pb2.ChangeBarrierStatusRequest,
                            context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.ChangeBarrierStatus)
        return self._answer(actor, self.fallarbeit.change_barrier_status(actor, command, purpose))

    def AddJournalNote(self, request: case_pb2.AddJournalNoteRequest,
                       context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.AddJournalNote)
        return self._answer(actor, self.fallarbeit.add_journal_note(actor, command, purpose))

    def AssignCaseManager(self, request: case_pb2.AssignCaseManagerRequest,
                          context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.AssignCaseManager)
        return self._answer(actor, self.fallarbeit.assign_case_manager(actor, command, purpose))

    def TransferCase(self, request: case_pb2.TransferCaseRequest,
                     context: grpc.ServicerContext) -> case_pb2.Case:
        actor, command, purpose = self._command(request, c.TransferCase)
        return self._answer(actor, self.fallarbeit.transfer_case(actor, command, purpose))

    def _command(self, request: Message, command_type: type[C]) -> tuple[Actor, C, str]:
        """The caller, the request as a command of the service layer, and the stated purpose."""
        case_id_of(request)
        command = contract.command(request, command_type)
        return acting(), command, purpose_of(request)

    def _answer(self, actor: Actor, case: Case) -> case_pb2.Case:
        self.notify_outbox()
        # A decision of another organisation's koordinierende Stelle releases no case data.
        if not self.falldaten.readable(actor, case):
            return contract.case_receipt(case)
        return contract.case_message(case)

    # -- queries ---------------------------------------------------------------------------------

    def GetPerson(self, request: case_pb2.GetPersonRequest, context: grpc.ServicerContext) -> case_pb2.Person:
        person = self.falldaten.get_person(acting(), case_id_of(request), purpose_of(request))
        return contract.person_message(person)

    def UpdatePerson(self, request: case_pb2.UpdatePersonRequest,
                     context: grpc.ServicerContext) -> case_pb2.UpdatePersonResponse:
        case, person = self.falldaten.update_person(
            acting(), case_id_of(request), lambda: contract.update_person_command(request),
            purpose_of(request))
        self.notify_outbox()
        return case_pb2.UpdatePersonResponse(case=contract.case_message(case),
                                             person=contract.person_message(person))

    def GetFigures(self, request: case_pb2.GetFiguresRequest,
                   context: grpc.ServicerContext) -> case_pb2.Figures:
        figures, version = self.verbund.get_figures(acting())
        return contract.figures_message(figures, version)

    def GetCaseBrief(self, request: case_pb2.GetCaseBriefRequest,
                     context: grpc.ServicerContext) -> case_pb2.CaseBrief:
        case_id = case_id_of(request, required=False)
        pseudonym = case_id_of(request, "pseudonym", required=False)
        if not (case_id or pseudonym):
            raise InvalidArgument([FieldViolation("case_id", "Fall-ID oder Pseudonym angeben.")])
        found, brief = self.falldaten.get_case_brief(acting(), case_id,
                                                     purpose_of(request, "Fallkonferenz"), pseudonym)
        return contract.brief_message(found, brief)

    def ListCases(self, request: case_pb2.ListCasesRequest,
                  context: grpc.ServicerContext) -> case_pb2.ListCasesResponse:
        filters = contract.list_filter(request)
        page = self.falldaten.list_cases(acting(), **filters, purpose=purpose_of(request, "Fallübersicht"))
        return case_pb2.ListCasesResponse(
            cases=[contract.brief_message(case_id, brief) for case_id, brief in page.briefs],
            next_page_token=page.next_page_token)

    def CheckEligibility(self, request: case_pb2.CheckEligibilityRequest,
                         context: grpc.ServicerContext) -> case_pb2.Eligibility:
        result = self.zielgruppen.check_eligibility(acting(), contract.eligibility_check_person(request))
        return contract.eligibility_message(result)

    def ListAuditEntries(self, request: case_pb2.ListAuditEntriesRequest,
                         context: grpc.ServicerContext) -> case_pb2.ListAuditEntriesResponse:
        case_id = case_id_of(request, required=False)
        size = request.page_size or AUDIT_PAGE_SIZE
        if not 1 <= size <= MAX_AUDIT_PAGE_SIZE or request.after_sequence < 0:
            raise InvalidArgument([FieldViolation(
                "page_size" if request.after_sequence >= 0 else "after_sequence",
                f"Seitengröße zwischen 1 und {MAX_AUDIT_PAGE_SIZE}, Folgenummer ab 0 angeben.")])
        entries = self.datenschutz.list_audit_entries(acting(), case_id, request.after_sequence, size)
        return case_pb2.ListAuditEntriesResponse(
            entries=[contract.audit_message(e) for e in entries],
            next_after_sequence=entries[-1].sequence if len(entries) == size else 0)

    def VerifyAuditChain(self, request: case_pb2.VerifyAuditChainRequest,
                         context: grpc.ServicerContext) -> case_pb2.VerifyAuditChainResponse:
        result = self.datenschutz.verify_audit_chain(acting())
        return case_pb2.VerifyAuditChainResponse(
            intact=result.intact, checked=result.checked,
            first_broken_sequence=result.first_broken_sequence or 0, reason=result.reason)


class CaseFederationServicer(federation_pb2_grpc.CaseFederationServicer):
    """What this node serves to peer nodes: pseudonymised briefs and suppressed aggregates,
    each audited with node, organisation and acting user (service layer)."""

    def __init__(self, services: CaseServices) -> None:
        self.verbund = services.verbund

    def GetCaseBriefs(self, request: federation_pb2.GetCaseBriefsRequest,
                      context: grpc.ServicerContext) -> federation_pb2.GetCaseBriefsResponse:
        actor = peer_acting(acting_user_required=True)
        result = self.verbund.get_case_briefs(actor, list(request.case_ids), request.purpose)
        return federation_pb2.GetCaseBriefsResponse(
            briefs=[contract.brief_message(case_id, brief) for case_id, brief in result.briefs],
            unavailable_case_ids=result.unavailable)

    def GetFigures(self, request: case_pb2.GetFiguresRequest,
                   context: grpc.ServicerContext) -> case_pb2.Figures:
        figures, version = self.verbund.get_figures(peer_acting())
        return contract.figures_message(figures, version)


class DoorAudit:
    """The api process's audit sink with the case service's part added: every decision goes on
    to `inner` (the process-wide sink), and each call of a case method refused at the door
    (UNAUTHENTICATED: no, an expired or a foreign token) is also appended to the case audit
    trail, so the data protection officer sees the attempts on case data in the one
    hash-chained log they read and verify. Such a caller has no verified identity and the
    request was never read: the entry names the method, the reason and nobody as the actor.
    Likewise each call of a `CaseFederation` method refused at the mutual-TLS port (unknown or
    revoked node, a role not allowed, a token of another organisation): the entry names the
    node, its organisation and the acting user as far as the door learnt them."""

    def __init__(self, repository: CaseRepository, inner: AuditSink) -> None:
        self.repository = repository
        self.inner = inner

    def record(self, event: AuditEvent) -> None:
        self.inner.record(event)
        draft = _door_refusal(event)
        if draft is None:
            return
        try:
            self.repository.append_audit(draft)
        except Exception:
            # The call is refused either way; `inner` holds the event, so it is not lost.
            log.exception("door refusal of %s not written to the case audit trail", event.action)


def _door_refusal(event: AuditEvent) -> AuditDraft | None:
    """The case audit entry of a door decision, if it is a refusal of a case method."""
    if event.outcome != "denied":
        return None
    if event.kind == "authentication" and event.action.startswith((CASE_METHOD_PREFIX,
                                                                   FEDERATION_METHOD_PREFIX)):
        return AuditDraft(
            occurred_at=event.at, actor_subject=event.subject or "(nicht angemeldet)",
            actor_org=event.organization or "", actor_roles=(), case_id="",
            call=event.action.rpartition("/")[2], purpose="",
            allowed=False, detail=f"Anmeldung abgewiesen: {event.reason}"[:500])
    if event.kind == "federation" and event.action.startswith(FEDERATION_METHOD_PREFIX):
        node = event.node or event.extra.get("common_name", "")
        who = f"Knoten {node}" if node else "(unbekannter Knoten)"
        return AuditDraft(
            occurred_at=event.at, actor_subject=event.extra.get("acting_user") or who,
            actor_org=event.organization or "", actor_roles=(), case_id="",
            call=event.action.removeprefix(FEDERATION_METHOD_PREFIX), purpose="",
            allowed=False, detail=f"Knoten abgewiesen: {event.reason}"[:500], actor_node=node)
    return None


def door_audit(settings: Settings, inner: AuditSink) -> AuditSink:
    """Hook of the composition root (kimnetz.bootstrap): the sink that the api process's door
    reports to, wrapped so that the case audit trail receives the refusals of case methods."""
    return DoorAudit(MongoCaseRepository(settings.node_id), inner)


def registration(settings: Settings) -> Registration:
    """The api process connects the "case" database before it adds servicers."""
    services = case_services(MongoCaseRepository(settings.node_id), node_org=settings.organization_id)
    servicer = CaseServicer(services)

    def add_to_server(server: grpc.Server) -> None:
        case_pb2_grpc.add_CaseServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
        # Served on both ports; the peer interceptor refuses it on the plain one.
        federation_pb2_grpc.add_CaseFederationServicer_to_server(  # type: ignore[no-untyped-call]
            CaseFederationServicer(services), server)

    def bind_outbox(notify: Callable[[], None]) -> None:
        servicer.notify_outbox = notify

    return Registration(SERVICE, add_to_server, bind_outbox=bind_outbox)
