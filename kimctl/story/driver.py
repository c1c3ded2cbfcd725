"""The story's driver: the eight steps in order over a Kreis, a Stadt and a Träger node, each
through the nodes' public gRPC apis with the token of the person who acts (kimctl/story/nodes.py),
with what is typed in taken from the scenario (scenario.yaml) and each outcome reported as rows
(kimctl/story/output.py) and collected in a `StoryRun`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as K, types_pb2 as KT
from kim.documents.v1 import documents_pb2
from kimctl.story import messages
from kimctl.story.nodes import Api, CachedTokens, StoryFailed, StoryNode, TokenProvider, poll, rpc_error
from kimctl.story.output import (
    AGE_BANDS,
    Observer,
    Silent,
    StepResult,
    eligibility,
    enum_name,
    erasure_confirmations,
    german_day,
    size,
)
from kimctl.story.scenario import Actor, FictionalPerson, Proposal, Scenario, scenario
from kimnetz.runtime.settings import Settings


@dataclass
class StoryCase:
    """A case of the story as its owning node knows it."""

    person: FictionalPerson
    node: StoryNode
    owner: Actor
    case_id: str = ""
    pseudonym: str = ""
    consent_id: str = ""


@dataclass
class GeneratedDocument:
    title: str
    path: Path
    size: int
    node: str
    document_id: str


@dataclass
class StoryRun:
    """What the story did, for the demo's summary and the e2e tests' assertions."""

    steps: list[StepResult] = field(default_factory=list)
    stadt_case: StoryCase | None = None
    caritas_case: StoryCase | None = None
    pending_case: StoryCase | None = None
    conference_id: str = ""
    agenda_seconds: float = 0.0
    agenda_skipped: list[str] = field(default_factory=list)
    gremium_id: str = ""
    session_id: str = ""
    mandate_beschluss_id: str = ""
    zielgruppen_beschluss_id: str = ""
    zielgruppen_version: int = 0
    projektgruppe_id: str = ""
    register_cells: list[str] = field(default_factory=list)
    documents: list[GeneratedDocument] = field(default_factory=list)
    erasure_confirmations: list[str] = field(default_factory=list)
    failed_step: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed_step and all(s.ok for s in self.steps)


STEPS = (
    "1 Fallvorschläge mit Einwilligung",
    "2 Fallkonferenz beim Kreis",
    "3 Entscheidungen bei den Fallmanagerinnen",
    "4 Bedarfsermittlung, Integrationsplan, Barriere",
    "5 Lenkungsgruppe: Beschlüsse und neue Zielgruppe",
    "6 Projektgruppe und Barrierenregister",
    "7 Dokumente",
    "8 Widerruf der Einwilligung",
)


def run_story(kreis: Settings | StoryNode, stadt: Settings | StoryNode, caritas: Settings | StoryNode,
              tokens: TokenProvider, out_dir: Path, *, timeout: float = 60.0,
              observer: Observer | None = None) -> StoryRun:
    """The whole story over the three nodes (their settings or api addresses), headless: what
    ran where, the ids it created and the documents it wrote. A failing step ends it and is
    named in `StoryRun.failed_step`; nothing is raised for it."""
    def node(value: Settings | StoryNode) -> StoryNode:
        return value if isinstance(value, StoryNode) else StoryNode.of(value)

    return Story(node(kreis), node(stadt), node(caritas), tokens, out_dir, timeout=timeout,
                 observer=observer).run()


class Story:
    """The KIM story over a Kreis, a Stadt and a Träger node (see the package's docstring).

    `run()` does every step in order and stops at the first that fails (the later ones build on
    it); each step is also callable alone, which the e2e tests use. `story` is what is typed in
    (default: scenario.yaml)."""

    def __init__(self, kreis: StoryNode, stadt: StoryNode, caritas: StoryNode, tokens: TokenProvider,
                 out_dir: Path, *, timeout: float = 60.0, observer: Observer | None = None,
                 story: Scenario | None = None) -> None:
        self.kreis, self.stadt, self.caritas = kreis, stadt, caritas
        self.api = Api(CachedTokens(tokens))
        self.out_dir = out_dir
        self.timeout = timeout
        self.observer: Observer = observer or Silent()
        self.story = story or scenario()
        self.result = StoryRun()
        self._step = ""
        self._began = time.monotonic()

    # -- running ----------------------------------------------------------------------------

    def run(self) -> StoryRun:
        steps = (self.propose_cases, self.fallkonferenz, self.decisions_arrive, self.integrationsplan,
                 self.lenkungsgruppe, self.projektgruppe, self.documents, self.revoke_consent)
        try:
            for title, step in zip(STEPS, steps, strict=True):
                with self.step(title):
                    step()
        except StoryFailed:
            pass  # recorded as the failing row; the story cannot go on without that step
        finally:
            self.api.close()
        return self.result

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self._step, self._began = title, time.monotonic()
        self.observer.step_started(title)
        try:
            yield
        except StoryFailed as exc:
            self._row("—", False, str(exc))
            self.result.failed_step = title
            raise
        except grpc.RpcError as exc:
            self._row("—", False, rpc_error(exc))
            self.result.failed_step = title
            raise StoryFailed(f"{title}: {rpc_error(exc)}") from None
        except Exception as exc:  # a fault of the story itself: shown in its row, the run ends
            self._row("—", False, f"{type(exc).__name__}: {exc}")
            self.result.failed_step = title
            raise StoryFailed(f"{title}: {exc}") from exc

    def _row(self, node: str, ok: bool, detail: str, *, short: str = "") -> None:
        row = StepResult(self._step, node, ok, detail, time.monotonic() - self._began, short or detail)
        self._began = time.monotonic()
        self.result.steps.append(row)
        self.observer.row(row)

    @property
    def _coordinator(self) -> Actor:
        return self.story.actors["coordinator"]

    # -- 1 ----------------------------------------------------------------------------------

    def propose_cases(self) -> None:
        """c.manager (Stadt) and m.beratung (Caritas) each propose a case to the Kreis, record the
        person's consent for the Kreis's Fallkonferenz and submit it: the proposal event with
        the pseudonymised brief is the Fallvorschlag to the Kreis."""
        proposals = self.story.proposals
        stadt = StoryCase(proposals["stadt"].person, self.stadt, proposals["stadt"].owner)
        caritas = StoryCase(proposals["caritas"].person, self.caritas, proposals["caritas"].owner)
        self.propose_as_planned(stadt, proposals["stadt"])
        self.result.stadt_case = stadt
        self.propose_as_planned(caritas, proposals["caritas"])
        self.result.caritas_case = caritas

    def propose_as_planned(self, case: StoryCase, proposal: Proposal, *,
                           submit: bool = True) -> case_pb2.Case:
        return self.propose(case, reason=proposal.reason, handlungsfelder=list(proposal.handlungsfelder),
                            rechtskreise=list(proposal.rechtskreise), proposer_unit=proposal.proposer_unit,
                            submit=submit, access_route=proposal.access_route)

    def propose(self, case: StoryCase, *, reason: str, handlungsfelder: list[Any], rechtskreise: list[Any],
                proposer_unit: str, submit: bool = True, access_route: int = 0) -> case_pb2.Case:
        kreis = self.story.kreis
        api = self.api.case(case.node, case.owner)
        proposed = api.ProposeCase(case_pb2.ProposeCaseRequest(
            coordination_org=kreis, proposer_kind=C.PROPOSER_KIND_CASE_MANAGER, proposer_unit=proposer_unit,
            reason=reason, handlungsfelder=handlungsfelder, rechtskreise=rechtskreise,
            access_route=access_route,  # type: ignore[arg-type]
            person=messages.person(case.person, self.story.contact)))
        case.case_id, case.pseudonym = proposed.case_id, proposed.pseudonym
        if not submit:
            self._row(case.node.node_id, True,
                      f"{case.owner.username}: Fallvorschlag {case.pseudonym} aufgenommen, noch nicht "
                      f"übermittelt, ohne Einwilligung ({eligibility(proposed)})",
                      short=f"{case.pseudonym} aufgenommen, ohne Einwilligung nicht übermittelt")
            return proposed  # type: ignore[no-any-return]
        consent = self.story.consent
        today = date.today()
        consented = api.RecordConsent(case_pb2.RecordConsentRequest(
            case_id=case.case_id, kind=consent.kind, recipient_org=kreis,  # type: ignore[arg-type]
            purposes=consent.purposes, categories=consent.categories,  # type: ignore[arg-type]
            signed_on=messages.day(today),
            expires_on=messages.day(today + timedelta(days=consent.valid_days))))
        case.consent_id = next(c.consent_id for c in consented.consents if c.recipient_org == kreis)
        submitted = api.SubmitForReview(case_pb2.SubmitForReviewRequest(
            case_id=case.case_id, note=consent.submit_note))
        ok = submitted.status == C.CASE_STATUS_IN_REVIEW
        self._row(case.node.node_id, ok,
                  f"{case.owner.username}: Fall {case.pseudonym} vorgeschlagen "
                  f"({eligibility(proposed)}); "
                  f"Einwilligung für {kreis} (Fallkonferenz; Falldokumentation, Aufenthalt); "
                  f"an die Fallkonferenz übermittelt: {submitted.status_label}",
                  short=f"{case.pseudonym} mit Einwilligung an den Kreis übermittelt")
        if not ok:
            raise StoryFailed(f"{case.pseudonym} ist nach der Übermittlung „{submitted.status_label}“")
        return submitted  # type: ignore[no-any-return]

    # -- 2 ----------------------------------------------------------------------------------

    def fallkonferenz(self) -> None:
        """The Kreis's coordinator schedules a Fallkonferenz, builds its agenda until both
        proposals have arrived over the federation, admits the Caritas case and refers the
        Stadt case, and closes it."""
        stadt, caritas = self._cases()
        plan = self.story.fallkonferenz
        coordinator = self._coordinator
        api = self.api.conference(self.kreis, coordinator)
        conference = api.ScheduleConference(K.ScheduleConferenceRequest(
            starts_at=messages.stamp(datetime.now(UTC) + timedelta(minutes=plan.starts_in_minutes)),
            place=plan.place,
            participants=[messages.participant(actor, role) for actor, role in plan.participants]))
        self.result.conference_id = conference.conference_id
        wanted = {stadt.pseudonym, caritas.pseudonym}
        began = time.monotonic()
        built = self.build_agenda_until(conference.conference_id, wanted)
        self.result.agenda_seconds = time.monotonic() - began
        self.result.agenda_skipped = [f"{s.case_id}: {s.reason}" for s in built.skipped]
        items = {i.brief.pseudonym: i for i in built.conference.agenda}
        for case in (stadt, caritas):
            brief = items[case.pseudonym].brief
            self._row(self.kreis.node_id, True,
                      f"Tagesordnung: {case.pseudonym} von {brief.owner_node or '?'} ({brief.owner_org}), "
                      f"Kurzakte ohne Namen, Altersgruppe {AGE_BANDS.get(brief.age_band, '?')}, "
                      f"Zielgruppe {brief.zielgruppe or '—'}",
                      short=f"{case.pseudonym} auf der Tagesordnung (Kurzakte von {brief.owner_node})")
        api.StartConference(K.StartConferenceRequest(conference_id=conference.conference_id))
        manager = plan.admitted_case_manager
        api.DecideItem(K.DecideItemRequest(
            conference_id=conference.conference_id, case_id=items[caritas.pseudonym].brief.case_id,
            decision=K.Decision(admission=K.Admission(assigned_org=plan.admitted_to,
                                                      case_manager=manager.username))))
        api.DecideItem(K.DecideItemRequest(
            conference_id=conference.conference_id, case_id=items[stadt.pseudonym].brief.case_id,
            decision=K.Decision(referral=K.Referral(
                target=plan.referral.target,  # type: ignore[arg-type]
                service=plan.referral.service, reason=plan.referral.reason))))
        closed = api.CloseConference(K.CloseConferenceRequest(conference_id=conference.conference_id))
        ok = closed.status == KT.CONFERENCE_STATUS_CLOSED
        self._row(self.kreis.node_id, ok,
                  f"{coordinator.username}: Fallkonferenz abgeschlossen: {caritas.pseudonym} aufgenommen "
                  f"(Caritas, {manager.username}), {stadt.pseudonym} an die MBE verwiesen",
                  short=f"Aufnahme {caritas.pseudonym}, Verweisberatung {stadt.pseudonym}")

    def build_agenda_until(self, conference_id: str, pseudonyms: set[str]) -> Any:
        """BuildAgenda again until every proposal named is on it (they come by the federation)."""
        api = self.api.conference(self.kreis, self._coordinator)

        def built() -> Any:
            answer = api.BuildAgenda(K.BuildAgendaRequest(conference_id=conference_id))
            present = {i.brief.pseudonym for i in answer.conference.agenda}
            return answer if pseudonyms <= present else None

        return poll(f"Fallvorschläge {', '.join(sorted(pseudonyms))} auf der Tagesordnung beim Kreis",
                    built, self.timeout, interval=2.0)

    # -- 3 ----------------------------------------------------------------------------------

    def decisions_arrive(self) -> None:
        stadt, caritas = self._cases()
        for case, status in ((caritas, C.CASE_STATUS_ADMITTED), (stadt, C.CASE_STATUS_REFERRED)):
            arrived = self.wait_for_status(case, status)
            decision = arrived.decisions[-1] if arrived.decisions else None
            self._row(case.node.node_id, True,
                      f"{case.owner.username} liest {case.pseudonym}: {arrived.status_label}"
                      + (f" ({decision.decision_reference})" if decision else "")
                      + (f", Fallmanagerin {arrived.case_manager}" if arrived.case_manager else ""),
                      short=f"{case.pseudonym}: {arrived.status_label}")

    def wait_for_status(self, case: StoryCase, status: int) -> Any:
        api = self.api.case(case.node, case.owner)

        def read() -> Any:
            current = api.GetCase(case_pb2.GetCaseRequest(case_id=case.case_id, purpose="Fallbearbeitung"))
            return current if current.status == status else None

        return poll(f"Entscheidung „{enum_name(C.CaseStatus, status)}“ für {case.pseudonym} auf "
                    f"{case.node.node_id}", read, self.timeout)

    # -- 4 ----------------------------------------------------------------------------------

    def integrationsplan(self) -> None:
        _, caritas = self._cases()
        plan = self.story.integrationsplan
        api = self.api.case(caritas.node, caritas.owner)
        ref = case_pb2.CaseRef(case_id=caritas.case_id, purpose="Fallbearbeitung")
        api.StartAssessment(ref)
        api.RecordNeed(case_pb2.RecordNeedRequest(
            case_id=caritas.case_id, handlungsfeld=plan.need.handlungsfeld,  # type: ignore[arg-type]
            need=plan.need.need, resources=plan.need.resources,
            priority=plan.need.priority))  # type: ignore[arg-type]
        api.StartPlanning(ref)
        due = date.today() + timedelta(days=plan.goal.due_days)
        planned = api.AddGoal(case_pb2.AddGoalRequest(
            case_id=caritas.case_id, title=plan.goal.title,
            handlungsfeld=plan.goal.handlungsfeld, due_on=messages.day(due)))  # type: ignore[arg-type]
        goal = planned.goals[-1]
        api.AddStep(case_pb2.AddStepRequest(
            case_id=caritas.case_id, goal_id=goal.goal_id, description=plan.step.description,
            responsible=plan.step.responsible, rechtskreis=plan.step.rechtskreis,  # type: ignore[arg-type]
            due_on=messages.day(date.today() + timedelta(days=plan.step.due_days))))
        active = api.ActivatePlan(ref)
        barrier = api.RecordBarrier(case_pb2.RecordBarrierRequest(
            case_id=caritas.case_id, rechtskreise=plan.barrier.rechtskreise,  # type: ignore[arg-type]
            category=plan.barrier.category, handlungsfeld=plan.barrier.handlungsfeld,  # type: ignore[arg-type]
            description=plan.barrier.description))
        ok = active.status == C.CASE_STATUS_ACTIVE and len(barrier.barriers) >= 1
        self._row(caritas.node.node_id, ok,
                  f"{caritas.owner.username}: Bedarf Ausbildung, Ziel „{goal.title}“ mit Schritt, Plan "
                  f"aktiv ({active.status_label}), Barriere „Zuständigkeit unklar“ (AufenthG/SGB III)",
                  short=f"{caritas.pseudonym}: Integrationsplan aktiv, Barriere erfasst")

    # -- 5 ----------------------------------------------------------------------------------

    def lenkungsgruppe(self) -> None:
        """The Lenkungsgruppe of the Kreis sits: the Vorlagen (a Projektgruppe's mandate and the
        Zielgruppen with a new one), attendance and quorum, votes, results with owner and due
        date. The new Zielgruppen version then reaches the Stadt and Caritas nodes."""
        proposal = self.story.proposals["pending"]
        pending = StoryCase(proposal.person, self.caritas, proposal.owner)
        self.propose_as_planned(pending, proposal, submit=False)
        self.result.pending_case = pending

        sitting = self.story.lenkungsgruppe
        kreis, coordinator = self.story.kreis, self._coordinator
        api = self.api.conference(self.kreis, coordinator)
        gremium = api.CreateLenkungsgruppe(K.CreateLenkungsgruppeRequest(name=sitting.name))
        self.result.gremium_id = gremium.gremium_id
        for member in sitting.members:
            api.AddMember(K.AddMemberRequest(gremium_id=gremium.gremium_id, member=K.Member(
                person=member.person, name=member.name, organisation=member.organisation,
                function=member.function, voting=member.voting)))
        session = api.ScheduleSession(K.ScheduleSessionRequest(
            gremium_id=gremium.gremium_id,
            starts_at=messages.stamp(datetime.now(UTC) + timedelta(minutes=sitting.starts_in_minutes)),
            place=sitting.place))
        self.result.session_id = session.session_id
        due = messages.day(date.today() + timedelta(days=sitting.due_days))
        mandate = K.Beschlussvorlage(
            kind=KT.VORLAGE_KIND_PROJEKTGRUPPE_MANDATE, title=sitting.mandate.title,
            proposed_wording=sitting.mandate.wording, rationale=sitting.mandate.rationale,
            responsible_org=kreis, responsible_person=coordinator.username, due_on=due)
        new = sitting.new_zielgruppe
        zielgruppen = K.Beschlussvorlage(
            kind=KT.VORLAGE_KIND_ZIELGRUPPEN, title=sitting.zielgruppen.title,
            proposed_wording=sitting.zielgruppen.wording.format(name=new.name),
            rationale=sitting.zielgruppen.rationale,
            responsible_org=kreis, responsible_person=coordinator.username, due_on=due,
            zielgruppen=messages.zielgruppen_catalogue(new))
        for vorlage in (mandate, zielgruppen):
            session = api.SubmitVorlage(K.SubmitVorlageRequest(session_id=session.session_id,
                                                               vorlage=vorlage))
        present = list(sitting.present)
        session = api.OpenSession(K.OpenSessionRequest(session_id=session.session_id, present=present))
        quorum = session.quorum
        self._row(self.kreis.node_id, quorum.reached,
                  f"Sitzung eröffnet: {len(present)} anwesend, {quorum.represented} von "
                  f"{quorum.voting_seats} Stimmsitzen vertreten (nötig {quorum.required}): "
                  f"{'beschlussfähig' if quorum.reached else 'nicht beschlussfähig'}",
                  short=f"Sitzung {'beschlussfähig' if quorum.reached else 'nicht beschlussfähig'} "
                        f"({quorum.represented} von {quorum.voting_seats} Stimmsitzen)")
        beschluesse = []
        for item in session.items:
            api.CastVote(K.CastVoteRequest(session_id=session.session_id, vorlage_id=item.vorlage.vorlage_id,
                                           choice=KT.VOTE_CHOICE_YES))
            declared = api.DeclareResult(K.DeclareResultRequest(
                session_id=session.session_id, vorlage_id=item.vorlage.vorlage_id,
                mode=KT.DECISION_MODE_VOTE))
            if not declared.HasField("beschluss"):
                raise StoryFailed(f"Vorlage „{item.vorlage.title}“ nicht angenommen")
            beschluesse.append(declared.beschluss)
        api.CloseSession(K.CloseSessionRequest(session_id=session.session_id))
        for beschluss in beschluesse:
            if beschluss.kind == KT.VORLAGE_KIND_ZIELGRUPPEN:
                self.result.zielgruppen_beschluss_id = beschluss.beschluss_id
                self.result.zielgruppen_version = beschluss.zielgruppen.version
            else:
                self.result.mandate_beschluss_id = beschluss.beschluss_id
            self._row(self.kreis.node_id, True,
                      f"Beschluss „{beschluss.title}“ ({beschluss.votes_yes} ja, {beschluss.votes_no} nein, "
                      f"{beschluss.votes_abstain} Enthaltung), Federführung {beschluss.responsible_person} "
                      f"({beschluss.responsible_org}), fällig {german_day(beschluss.due_on)}",
                      short=f"beschlossen: {beschluss.title}")
        version = self.result.zielgruppen_version
        if not version:
            raise StoryFailed("Der Zielgruppen-Beschluss nennt keine Version")
        self.wait_for_zielgruppen(version)

    def wait_for_zielgruppen(self, version: int) -> None:
        """Where the case apis show the Zielgruppen version: the Stadt's monitoring figures (its
        clerk), the Caritas's open proposal, which the new catalogue re-checks."""
        clerk = self.story.actors["stadt_clerk"]
        figures = self.api.case(self.stadt, clerk)

        def stadt_reached() -> int | None:
            shown = int(figures.GetFigures(case_pb2.GetFiguresRequest()).zielgruppen_version)
            return shown if shown >= version else None

        stadt_version = poll(f"Zielgruppen-Version {version} auf {self.stadt.node_id}", stadt_reached,
                             self.timeout)
        self._row(self.stadt.node_id, True,
                  f"{clerk.username}: Kennzahlen nach Zielgruppen-Version {stadt_version}",
                  short=f"Zielgruppen-Version {stadt_version} angekommen")
        pending = self.result.pending_case
        assert pending is not None
        api = self.api.case(pending.node, pending.owner)

        def caritas_reached() -> Any:
            case = api.GetCase(case_pb2.GetCaseRequest(case_id=pending.case_id, purpose="Fallbearbeitung"))
            return case if case.eligibility.zielgruppen_version >= version else None

        rechecked = poll(f"Zielgruppen-Version {version} auf {self.caritas.node_id}", caritas_reached,
                         self.timeout)
        matched = self.story.lenkungsgruppe.new_zielgruppe.key in rechecked.eligibility.matched
        self._row(self.caritas.node_id, matched,
                  f"{pending.owner.username}: offener Fallvorschlag {pending.pseudonym} nach Version "
                  f"{rechecked.eligibility.zielgruppen_version} neu geprüft: {eligibility(rechecked)}",
                  short=f"Zielgruppen-Version {rechecked.eligibility.zielgruppen_version} angekommen, "
                        f"{pending.pseudonym} {'in' if matched else 'nicht in'} der neuen Zielgruppe")

    # -- 6 ----------------------------------------------------------------------------------

    def projektgruppe(self) -> None:
        """The Kreis sets up the Projektgruppe with the Lenkungsgruppe's mandate (a Projektgruppe
        needs that Beschluss, so the Lenkungsgruppe sits first) and reads its barrier register,
        which counts the Caritas's barrier received over the federation."""
        if not self.result.mandate_beschluss_id:
            raise StoryFailed("Kein Auftrag der Lenkungsgruppe für die Projektgruppe")
        plan = self.story.projektgruppe
        api = self.api.conference(self.kreis, self._coordinator)
        group = api.EstablishProjektgruppe(K.EstablishProjektgruppeRequest(
            name=plan.name, topic=plan.topic,  # type: ignore[arg-type]
            mandate_beschluss_id=self.result.mandate_beschluss_id,
            members=[K.ProjektgruppeMember(person=a.username, name=a.name, organisation=a.organization)
                     for a in plan.members]))
        self.result.projektgruppe_id = group.projektgruppe_id
        category = KT.BARRIER_CATEGORY_ZUSTAENDIGKEIT_UNKLAR

        def register() -> Any:
            answer = api.GetBarrierRegister(
                K.GetBarrierRegisterRequest(projektgruppe_id=group.projektgruppe_id))
            return answer if any(c.category == category for c in answer.cells) else None

        shown = poll("Barriere der Caritas im Register der Projektgruppe beim Kreis", register, self.timeout)
        self.result.register_cells = [
            f"{enum_name(KT.Rechtskreis, c.rechtskreis_a)}"
            f"{'/' + enum_name(KT.Rechtskreis, c.rechtskreis_b) if c.rechtskreis_b else ''}"
            f" {enum_name(KT.BarrierCategory, c.category)}: {c.display}"
            for c in shown.cells]
        self._row(self.kreis.node_id, True,
                  f"{group.name} eingesetzt; Barrierenregister: {'; '.join(self.result.register_cells)} "
                  f"(insgesamt {shown.total_display or '—'})",
                  short="Barrierenregister der Projektgruppe zeigt die Barriere („< 5“)")

    # -- 7 ----------------------------------------------------------------------------------

    def documents(self) -> None:
        given = self.story.documents
        self.out_dir.mkdir(parents=True, exist_ok=True)
        kreis_clerk = self.story.actors["kreis_clerk"]
        clerk = self.api.documents(self.kreis, kreis_clerk)
        coordinator = self.api.documents(self.kreis, self._coordinator)
        year = date.today().year
        for contract in given.contracts:
            answer = clerk.RenderDocument(documents_pb2.RenderDocumentRequest(
                kind=documents_pb2.CONTRACT,
                input=messages.struct(messages.contract_input(given, contract.allocation))))
            self._save(answer, f"Weiterleitungsvertrag_{year}_Kreis-Mettmann_an_{contract.file}.docx")
        today = date.today().isoformat()
        answer = coordinator.RenderConferenceProtocol(documents_pb2.RenderConferenceProtocolRequest(
            conference_id=self.result.conference_id, coordination_office=given.coordination_office,
            signature_function=given.signature_function))
        self._save(answer, f"Fallkonferenz-Protokoll_{today}_Kreis-Mettmann.docx")
        answer = coordinator.RenderSessionProtocol(documents_pb2.RenderSessionProtocolRequest(
            session_id=self.result.session_id, issuer=given.session_issuer, chair=self._coordinator.name))
        self._save(answer, f"Beschlussprotokoll_Lenkungsgruppe_{today}_Kreis-Mettmann.docx")
        answer = clerk.RenderDrucksache(documents_pb2.RenderDrucksacheRequest(
            input=messages.struct(messages.drucksache_input(given, kreis_clerk)),
            figures_from_case_service=True))
        self._save(answer, f"Drucksache_{today}_Monitoring-KIM_Kreis-Mettmann.docx")

    def _save(self, answer: Any, filename: str) -> None:
        path = self.out_dir / filename
        path.write_bytes(answer.content)
        info = answer.document
        self.result.documents.append(GeneratedDocument(info.title, path, len(answer.content),
                                                       self.kreis.node_id, info.document_id))
        self._row(self.kreis.node_id, len(answer.content) > 0,
                  f"{info.title} ({info.generated_by_username}): {path.name}, {size(len(answer.content))}",
                  short=str(info.title))

    # -- 8 ----------------------------------------------------------------------------------

    def revoke_consent(self) -> None:
        """The person of the Stadt's case revokes the consent for the Kreis: the Kreis node
        erases what it received and confirms; the confirmation shows on the Stadt's case."""
        stadt, _ = self._cases()
        api = self.api.case(stadt.node, stadt.owner)
        api.RevokeConsent(case_pb2.RevokeConsentRequest(
            case_id=stadt.case_id, consent_id=stadt.consent_id, revoked_on=messages.day(date.today()),
            reason=self.story.revocation_reason))
        self._row(stadt.node.node_id, True,
                  f"{stadt.owner.username}: Einwilligung für {self.story.kreis} zu {stadt.pseudonym} "
                  "widerrufen",
                  short=f"{stadt.pseudonym}: Einwilligung für den Kreis widerrufen")

        def confirmed() -> list[str] | None:
            case = api.GetCase(case_pb2.GetCaseRequest(case_id=stadt.case_id, purpose="Fallbearbeitung"))
            found = erasure_confirmations(case, stadt.consent_id)
            return found or None

        found = poll(f"Löschbestätigung des Kreises auf {stadt.node.node_id}", confirmed, self.timeout)
        self.result.erasure_confirmations = found
        self._row(stadt.node.node_id, True, f"Löschbestätigung am Fall: {'; '.join(found)}",
                  short=f"{stadt.pseudonym}: Löschung beim Kreis bestätigt")

    # -- helpers ----------------------------------------------------------------------------

    def _cases(self) -> tuple[StoryCase, StoryCase]:
        if self.result.stadt_case is None or self.result.caritas_case is None:
            raise StoryFailed("Die Fallvorschläge fehlen (Schritt 1)")
        return self.result.stadt_case, self.result.caritas_case
