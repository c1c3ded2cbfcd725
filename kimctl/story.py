"""The KIM story over three nodes of a federation, headless: case managers of the Stadt Hilden
and of the Caritas propose cases with consent, the Kreis's Fallkonferenz admits one and refers
the other, the decisions come back to the owning nodes, the admitted case gets an
Integrationsplan and a barrier, the Lenkungsgruppe adopts Beschlüsse (a Projektgruppe's mandate
and a new Zielgruppe) that reach every node, the Projektgruppe's register shows the barrier,
the documents are generated into a folder, and a revoked consent is erased at the Kreis and
confirmed back on the Stadt's case.

Everything goes through the nodes' public gRPC apis with the tokens of the people who act, as
they would act; what crosses between the nodes crosses by the federation (events and peer
calls), never by this module. `kim demo` runs it with visible progress (kimctl/demo.py), the e2e
tests run it against nodes of their own and assert on the returned `StoryRun`
(tests/e2e/test_story.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import grpc
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from kim.case.v1 import case_pb2, case_pb2_grpc, types_pb2 as C
from kim.conference.v1 import conference_pb2 as K, conference_pb2_grpc, types_pb2 as KT
from kim.documents.v1 import documents_pb2, documents_pb2_grpc
from kimnetz.runtime.settings import Settings

T = TypeVar("T")
BERLIN = ZoneInfo("Europe/Berlin")

KREIS, STADT, CARITAS, ABH = "kreis-mettmann", "stadt-hilden", "caritas-mettmann", "abh-kreis-mettmann"

#: (organisation, username) -> a bearer token of that person (a brokered login).
TokenProvider = Callable[[str, str], str]


@dataclass(frozen=True)
class StoryNode:
    """A node as the people of the story reach it: its id, organisation and api address."""

    node_id: str
    organization: str
    target: str

    @classmethod
    def of(cls, settings: Settings) -> StoryNode:
        return cls(settings.node_id, settings.organization_id, f"{settings.grpc_host}:{settings.grpc_port}")


@dataclass(frozen=True)
class Actor:
    organization: str
    username: str
    name: str
    what: str


STADT_CASE_MANAGER = Actor(STADT, "c.manager", "Clara Manager", "Fallmanagerin der Stadt Hilden")
CARITAS_CASE_MANAGER = Actor(CARITAS, "m.beratung", "Maria Beratung", "Fallmanagerin der Caritas")
COORDINATOR = Actor(KREIS, "k.koordination", "Katrin Koordination", "Koordination im Kreis")
LIAISON = Actor(ABH, "l.lotsin", "Leyla Lotsin", "Integrationslotsin der ABH")
KREIS_CLERK = Actor(KREIS, "v.vertrag", "Vera Vertrag", "Kreistagsbüro des Kreises")
STADT_CLERK = Actor(STADT, "r.buero", "Ralf Büro", "Ratsbüro der Stadt Hilden")


@dataclass(frozen=True)
class FictionalPerson:
    """A person of the story (fictional): what the case managers type in, and what must never
    leave the owning node."""

    given_name: str
    family_name: str
    birth_date: date
    country: str
    residence_kind: int
    legal_basis: str
    languages: tuple[str, ...]

    def message(self) -> case_pb2.Person:
        return case_pb2.Person(
            given_name=self.given_name, family_name=self.family_name, birth_date=_day(self.birth_date),
            nationalities=[self.country], country_of_origin=self.country,
            residence=case_pb2.ResidenceStatus(kind=self.residence_kind, legal_basis=self.legal_basis),  # type: ignore[arg-type]
            languages=list(self.languages), household_adults=1, household_children=1,
            phone="+49 2103 555 01", address="Musterstraße 1, 40721 Hilden",
        )

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


#: Proposed by the Stadt Hilden: a Geduldeter older than 27; the Fallkonferenz refers him.
STADT_PERSON = FictionalPerson("Samir", "Al-Khatib", date(1991, 4, 17), "SY",
                               C.RESIDENCE_STATUS_KIND_DULDUNG, "§ 60a AufenthG", ("ar", "de"))
#: Proposed by the Caritas: Kosovo, Duldung, training place at stake; admitted.
CARITAS_PERSON = FictionalPerson("Ardita", "Krasniqi", date(1998, 9, 3), "XK",
                                 C.RESIDENCE_STATUS_KIND_DULDUNG, "§ 60c AufenthG", ("sq", "de"))
#: A later proposal of the Caritas, not yet submitted and without consent: protected under
#: § 24 AufenthG, in no Zielgruppe until the Lenkungsgruppe adds one.
PENDING_PERSON = FictionalPerson("Olena", "Marchenko", date(1986, 6, 22), "UA",
                                 C.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS, "§ 24 Abs. 1 AufenthG",
                                 ("uk", "ru"))

#: The Zielgruppe the Lenkungsgruppe adds to the catalogue.
NEW_ZIELGRUPPE_KEY = "schutz_24_aufenthg"
NEW_ZIELGRUPPE_NAME = "Vorübergehend Schutzberechtigte nach § 24 AufenthG"


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
class StepResult:
    """One row of "was lief wo": a step of the story on one node."""

    step: str
    node: str
    ok: bool
    detail: str
    seconds: float
    #: The result in a few words, for the summary table.
    summary: str = ""


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


class StoryFailed(Exception):
    """A step could not be done; the message says what and where (German, for operators)."""


class Observer(Protocol):
    """Where the story reports its progress (the demo prints it; tests need nothing)."""

    def step_started(self, title: str) -> None: ...

    def row(self, result: StepResult) -> None: ...


class _Silent:
    def step_started(self, title: str) -> None:
        pass

    def row(self, result: StepResult) -> None:
        pass


class CachedTokens:
    """Tokens per person, fetched again when older than `max_age` seconds (they live 300 s)."""

    def __init__(self, provider: TokenProvider, max_age: float = 240.0) -> None:
        self._provider = provider
        self._max_age = max_age
        self._tokens: dict[tuple[str, str], tuple[float, str]] = {}

    def __call__(self, organization: str, username: str) -> str:
        cached = self._tokens.get((organization, username))
        if cached is None or time.monotonic() - cached[0] > self._max_age:
            cached = (time.monotonic(), self._provider(organization, username))
            self._tokens[organization, username] = cached
        return cached[1]


class _Bound:
    """A stub whose calls carry the actor's token: `api.case(node, actor).GetCase(request)`."""

    def __init__(self, stub: Any, token: Callable[[], str], timeout: float) -> None:
        self._stub, self._token, self._timeout = stub, token, timeout

    def __getattr__(self, method: str) -> Callable[[Any], Any]:
        def call(request: Any) -> Any:
            return getattr(self._stub, method)(
                request, metadata=[("authorization", f"Bearer {self._token()}")], timeout=self._timeout)
        return call


class Api:
    """Channels to the nodes' api ports, one per address, and stubs bound to a person."""

    def __init__(self, tokens: TokenProvider, timeout: float = 20.0) -> None:
        self.tokens = tokens
        self._timeout = timeout
        self._channels: dict[str, grpc.Channel] = {}

    def _channel(self, node: StoryNode) -> grpc.Channel:
        if node.target not in self._channels:
            self._channels[node.target] = grpc.insecure_channel(node.target)
        return self._channels[node.target]

    def _bind(self, stub: Any, actor: Actor) -> _Bound:
        return _Bound(stub, lambda: self.tokens(actor.organization, actor.username), self._timeout)

    def case(self, node: StoryNode, actor: Actor) -> Any:
        return self._bind(case_pb2_grpc.CaseServiceStub(self._channel(node)), actor)  # type: ignore[no-untyped-call]

    def conference(self, node: StoryNode, actor: Actor) -> Any:
        return self._bind(conference_pb2_grpc.ConferenceServiceStub(self._channel(node)), actor)  # type: ignore[no-untyped-call]

    def documents(self, node: StoryNode, actor: Actor) -> Any:
        return self._bind(documents_pb2_grpc.DocumentsServiceStub(self._channel(node)), actor)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


def poll(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
    """`probe()` until it gives a value; a gRPC error counts as "not yet" (a node may be down
    for a while). Past `timeout`: StoryFailed naming what did not arrive and the last answer."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            value = probe()
            if value is not None:
                return value
        except grpc.RpcError as exc:
            last = f"{exc.code().name}: {exc.details()}"
        if time.monotonic() >= deadline:
            raise StoryFailed(f"{what}: nach {timeout:.0f} s nicht eingetreten"
                              + (f" (zuletzt {last})" if last else ""))
        time.sleep(interval)


def rpc_error(exc: grpc.RpcError) -> str:
    return f"{exc.code().name}: {exc.details()}"


# --- the story -------------------------------------------------------------------------------

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
    """The KIM story over a Kreis, a Stadt and a Träger node (see the module's docstring).

    `run()` does every step in order and stops at the first that fails (the later ones build on
    it); each step is also callable alone, which the e2e tests use."""

    def __init__(self, kreis: StoryNode, stadt: StoryNode, caritas: StoryNode, tokens: TokenProvider,
                 out_dir: Path, *, timeout: float = 60.0, observer: Observer | None = None) -> None:
        self.kreis, self.stadt, self.caritas = kreis, stadt, caritas
        self.api = Api(CachedTokens(tokens))
        self.out_dir = out_dir
        self.timeout = timeout
        self.observer: Observer = observer or _Silent()
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

    # -- 1 ----------------------------------------------------------------------------------

    def propose_cases(self) -> None:
        """c.manager (Stadt) and m.beratung (Caritas) each propose a case to the Kreis, record the
        person's consent for the Kreis's Fallkonferenz and submit it: the proposal event with
        the pseudonymised brief is the Fallvorschlag to the Kreis."""
        stadt = StoryCase(STADT_PERSON, self.stadt, STADT_CASE_MANAGER)
        caritas = StoryCase(CARITAS_PERSON, self.caritas, CARITAS_CASE_MANAGER)
        self.propose(stadt, reason="Mehrere Stellen beteiligt; Klärung der Bleibeperspektive nötig.",
                     handlungsfelder=[C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET, C.HANDLUNGSFELD_ARBEIT],
                     rechtskreise=[C.RECHTSKREIS_AUFENTHG, C.RECHTSKREIS_SGB_II],
                     proposer_unit="Integrationsbüro der Stadt Hilden")
        self.result.stadt_case = stadt
        self.propose(caritas, reason="Ausbildungsplatz zugesagt, Ausbildungsduldung offen; Jobcenter, "
                                     "Agentur für Arbeit und ABH stimmen sich nicht ab.",
                     handlungsfelder=[C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET, C.HANDLUNGSFELD_AUSBILDUNG],
                     rechtskreise=[C.RECHTSKREIS_AUFENTHG, C.RECHTSKREIS_SGB_III, C.RECHTSKREIS_SGB_II],
                     proposer_unit="Migrationsdienst der Caritas")
        self.result.caritas_case = caritas

    def propose(self, case: StoryCase, *, reason: str, handlungsfelder: list[Any], rechtskreise: list[Any],
                proposer_unit: str, submit: bool = True) -> case_pb2.Case:
        api = self.api.case(case.node, case.owner)
        proposed = api.ProposeCase(case_pb2.ProposeCaseRequest(
            coordination_org=KREIS, proposer_kind=C.PROPOSER_KIND_CASE_MANAGER, proposer_unit=proposer_unit,
            reason=reason, handlungsfelder=handlungsfelder, rechtskreise=rechtskreise,
            person=case.person.message()))
        case.case_id, case.pseudonym = proposed.case_id, proposed.pseudonym
        if not submit:
            self._row(case.node.node_id, True,
                      f"{case.owner.username}: Fallvorschlag {case.pseudonym} aufgenommen, noch nicht "
                      f"übermittelt, ohne Einwilligung ({_eligibility(proposed)})",
                      short=f"{case.pseudonym} aufgenommen, ohne Einwilligung nicht übermittelt")
            return proposed  # type: ignore[no-any-return]
        today = date.today()
        consented = api.RecordConsent(case_pb2.RecordConsentRequest(
            case_id=case.case_id, kind=C.CONSENT_KIND_SCHWEIGEPFLICHTENTBINDUNG, recipient_org=KREIS,
            purposes=[C.CONSENT_PURPOSE_FALLKONFERENZ],
            categories=[C.DATA_CATEGORY_FALLDOKUMENTATION, C.DATA_CATEGORY_AUFENTHALT],
            signed_on=_day(today), expires_on=_day(today + timedelta(days=365))))
        case.consent_id = next(c.consent_id for c in consented.consents if c.recipient_org == KREIS)
        submitted = api.SubmitForReview(case_pb2.SubmitForReviewRequest(
            case_id=case.case_id, note="Bitte in der nächsten Fallkonferenz beraten."))
        ok = submitted.status == C.CASE_STATUS_IN_REVIEW
        self._row(case.node.node_id, ok,
                  f"{case.owner.username}: Fall {case.pseudonym} vorgeschlagen "
                  f"({_eligibility(proposed)}); "
                  f"Einwilligung für {KREIS} (Fallkonferenz; Falldokumentation, Aufenthalt); "
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
        api = self.api.conference(self.kreis, COORDINATOR)
        conference = api.ScheduleConference(K.ScheduleConferenceRequest(
            starts_at=_stamp(datetime.now(UTC) + timedelta(minutes=5)),
            place="Kreishaus Mettmann, Raum 2.14",
            participants=[_participant(COORDINATOR, KT.PARTICIPANT_ROLE_COORDINATOR),
                          _participant(STADT_CASE_MANAGER, KT.PARTICIPANT_ROLE_CASE_MANAGER),
                          _participant(CARITAS_CASE_MANAGER, KT.PARTICIPANT_ROLE_CASE_MANAGER),
                          _participant(LIAISON, KT.PARTICIPANT_ROLE_IMMIGRATION_LIAISON)]))
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
        api.DecideItem(K.DecideItemRequest(
            conference_id=conference.conference_id, case_id=items[caritas.pseudonym].brief.case_id,
            decision=K.Decision(admission=K.Admission(assigned_org=CARITAS,
                                                      case_manager=CARITAS_CASE_MANAGER.username))))
        api.DecideItem(K.DecideItemRequest(
            conference_id=conference.conference_id, case_id=items[stadt.pseudonym].brief.case_id,
            decision=K.Decision(referral=K.Referral(
                target=KT.REFERRAL_TARGET_MBE,
                service="Migrationsberatung für erwachsene Zuwanderer (MBE) in Hilden",
                reason="Ein Rechtskreis im Vordergrund; die Regelberatung reicht aus."))))
        closed = api.CloseConference(K.CloseConferenceRequest(conference_id=conference.conference_id))
        ok = closed.status == KT.CONFERENCE_STATUS_CLOSED
        self._row(self.kreis.node_id, ok,
                  f"{COORDINATOR.username}: Fallkonferenz abgeschlossen: {caritas.pseudonym} aufgenommen "
                  f"(Caritas, {CARITAS_CASE_MANAGER.username}), {stadt.pseudonym} an die MBE verwiesen",
                  short=f"Aufnahme {caritas.pseudonym}, Verweisberatung {stadt.pseudonym}")

    def build_agenda_until(self, conference_id: str, pseudonyms: set[str]) -> Any:
        """BuildAgenda again until every proposal named is on it (they come by the federation)."""
        api = self.api.conference(self.kreis, COORDINATOR)

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

        return poll(f"Entscheidung „{_name(C.CaseStatus, status)}“ für {case.pseudonym} auf "
                    f"{case.node.node_id}", read, self.timeout)

    # -- 4 ----------------------------------------------------------------------------------

    def integrationsplan(self) -> None:
        _, caritas = self._cases()
        api = self.api.case(caritas.node, caritas.owner)
        ref = case_pb2.CaseRef(case_id=caritas.case_id, purpose="Fallbearbeitung")
        api.StartAssessment(ref)
        api.RecordNeed(case_pb2.RecordNeedRequest(
            case_id=caritas.case_id, handlungsfeld=C.HANDLUNGSFELD_AUSBILDUNG,
            need="Ausbildungsvertrag zum 01.08. liegt vor; die Ausbildungsduldung ist nicht beantragt.",
            resources="Ausbildungsbetrieb unterstützt; Deutsch auf B1.", priority=C.PRIORITY_HIGH))
        api.StartPlanning(ref)
        due = date.today() + timedelta(days=90)
        planned = api.AddGoal(case_pb2.AddGoalRequest(
            case_id=caritas.case_id, title="Ausbildung mit gesichertem Aufenthalt beginnen",
            handlungsfeld=C.HANDLUNGSFELD_AUSBILDUNG, due_on=_day(due)))
        goal = planned.goals[-1]
        api.AddStep(case_pb2.AddStepRequest(
            case_id=caritas.case_id, goal_id=goal.goal_id,
            description="Ausbildungsduldung nach § 60c AufenthG bei der ABH beantragen",
            responsible="Caritas mit ABH Kreis Mettmann", rechtskreis=C.RECHTSKREIS_AUFENTHG,
            due_on=_day(date.today() + timedelta(days=30))))
        active = api.ActivatePlan(ref)
        barrier = api.RecordBarrier(case_pb2.RecordBarrierRequest(
            case_id=caritas.case_id, rechtskreise=[C.RECHTSKREIS_AUFENTHG, C.RECHTSKREIS_SGB_III],
            category=C.BARRIER_CATEGORY_ZUSTAENDIGKEIT_UNKLAR, handlungsfeld=C.HANDLUNGSFELD_AUSBILDUNG,
            description="ABH und Agentur für Arbeit verweisen für die Beschäftigungserlaubnis "
                        "aufeinander."))
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
        pending = StoryCase(PENDING_PERSON, self.caritas, CARITAS_CASE_MANAGER)
        self.propose(pending, reason="Alleinerziehend, Anerkennung des Berufsabschlusses offen.",
                     handlungsfelder=[C.HANDLUNGSFELD_ARBEIT, C.HANDLUNGSFELD_SPRACHE],
                     rechtskreise=[C.RECHTSKREIS_SGB_II], proposer_unit="Migrationsdienst der Caritas",
                     submit=False)
        self.result.pending_case = pending

        api = self.api.conference(self.kreis, COORDINATOR)
        gremium = api.CreateLenkungsgruppe(K.CreateLenkungsgruppeRequest(
            name="Lenkungsgruppe KIM Kreis Mettmann"))
        self.result.gremium_id = gremium.gremium_id
        for person, name, organisation, function in (
            (COORDINATOR.username, COORDINATOR.name, KREIS, "Leitung Kommunales Integrationszentrum"),
            ("j.center", "Jens Center", "Jobcenter ME-aktiv", "Geschäftsführung Jobcenter"),
            ("a.recht", "Anna Recht", ABH, "Leitung Ausländerbehörde"),
            ("s.hilden", "Sabine Hilden", STADT, "Amtsleitung Soziales"),
        ):
            api.AddMember(K.AddMemberRequest(gremium_id=gremium.gremium_id, member=K.Member(
                person=person, name=name, organisation=organisation, function=function, voting=True)))
        api.AddMember(K.AddMemberRequest(gremium_id=gremium.gremium_id, member=K.Member(
            person="c.verband", name="Carla Verband", organisation=CARITAS,
            function="Vorstand Caritasverband", voting=False)))
        session = api.ScheduleSession(K.ScheduleSessionRequest(
            gremium_id=gremium.gremium_id, starts_at=_stamp(datetime.now(UTC) + timedelta(minutes=5)),
            place="Kreishaus Mettmann, Sitzungssaal"))
        self.result.session_id = session.session_id
        due = _day(date.today() + timedelta(days=90))
        mandate = K.Beschlussvorlage(
            kind=KT.VORLAGE_KIND_PROJEKTGRUPPE_MANDATE,
            title="Projektgruppe „Ausbildung und Aufenthalt“ einsetzen",
            proposed_wording="Die Lenkungsgruppe setzt eine Projektgruppe „Ausbildung und Aufenthalt“ "
                             "ein, die Sollbruchstellen zwischen Aufenthaltsrecht und Ausbildungsförderung "
                             "erhebt und Lösungen vorschlägt.",
            rationale="Mehrere Fälle scheitern an ungeklärten Zuständigkeiten zwischen ABH und Agentur.",
            responsible_org=KREIS, responsible_person=COORDINATOR.username, due_on=due)
        zielgruppen = K.Beschlussvorlage(
            kind=KT.VORLAGE_KIND_ZIELGRUPPEN, title="Zielgruppen des KIM festlegen",
            proposed_wording=f"Die Lenkungsgruppe legt die Zielgruppen des KIM fest; neu aufgenommen "
                             f"wird die Zielgruppe „{NEW_ZIELGRUPPE_NAME}“.",
            rationale="Seit 2022 suchen viele Schutzberechtigte aus der Ukraine Unterstützung.",
            responsible_org=KREIS, responsible_person=COORDINATOR.username, due_on=due,
            zielgruppen=zielgruppen_catalogue())
        for vorlage in (mandate, zielgruppen):
            session = api.SubmitVorlage(K.SubmitVorlageRequest(session_id=session.session_id,
                                                               vorlage=vorlage))
        present = [COORDINATOR.username, "j.center", "a.recht"]
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
                      f"({beschluss.responsible_org}), fällig {_german(beschluss.due_on)}",
                      short=f"beschlossen: {beschluss.title}")
        version = self.result.zielgruppen_version
        if not version:
            raise StoryFailed("Der Zielgruppen-Beschluss nennt keine Version")
        self.wait_for_zielgruppen(version)

    def wait_for_zielgruppen(self, version: int) -> None:
        """Where the case apis show the Zielgruppen version: the Stadt's monitoring figures (its
        clerk), the Caritas's open proposal, which the new catalogue re-checks."""
        figures = self.api.case(self.stadt, STADT_CLERK)

        def stadt_reached() -> int | None:
            shown = int(figures.GetFigures(case_pb2.GetFiguresRequest()).zielgruppen_version)
            return shown if shown >= version else None

        stadt_version = poll(f"Zielgruppen-Version {version} auf {self.stadt.node_id}", stadt_reached,
                             self.timeout)
        self._row(self.stadt.node_id, True,
                  f"{STADT_CLERK.username}: Kennzahlen nach Zielgruppen-Version {stadt_version}",
                  short=f"Zielgruppen-Version {stadt_version} angekommen")
        pending = self.result.pending_case
        assert pending is not None
        api = self.api.case(pending.node, pending.owner)

        def caritas_reached() -> Any:
            case = api.GetCase(case_pb2.GetCaseRequest(case_id=pending.case_id, purpose="Fallbearbeitung"))
            return case if case.eligibility.zielgruppen_version >= version else None

        rechecked = poll(f"Zielgruppen-Version {version} auf {self.caritas.node_id}", caritas_reached,
                         self.timeout)
        matched = NEW_ZIELGRUPPE_KEY in rechecked.eligibility.matched
        self._row(self.caritas.node_id, matched,
                  f"{pending.owner.username}: offener Fallvorschlag {pending.pseudonym} nach Version "
                  f"{rechecked.eligibility.zielgruppen_version} neu geprüft: {_eligibility(rechecked)}",
                  short=f"Zielgruppen-Version {rechecked.eligibility.zielgruppen_version} angekommen, "
                        f"{pending.pseudonym} {'in' if matched else 'nicht in'} der neuen Zielgruppe")

    # -- 6 ----------------------------------------------------------------------------------

    def projektgruppe(self) -> None:
        """The Kreis sets up the Projektgruppe with the Lenkungsgruppe's mandate (a Projektgruppe
        needs that Beschluss, so the Lenkungsgruppe sits first) and reads its barrier register,
        which counts the Caritas's barrier received over the federation."""
        if not self.result.mandate_beschluss_id:
            raise StoryFailed("Kein Auftrag der Lenkungsgruppe für die Projektgruppe")
        api = self.api.conference(self.kreis, COORDINATOR)
        group = api.EstablishProjektgruppe(K.EstablishProjektgruppeRequest(
            name="Projektgruppe Ausbildung und Aufenthalt", topic=KT.TOPIC_AUSBILDUNG,
            mandate_beschluss_id=self.result.mandate_beschluss_id,
            members=[K.ProjektgruppeMember(person=a.username, name=a.name, organisation=a.organization)
                     for a in (COORDINATOR, LIAISON, CARITAS_CASE_MANAGER)]))
        self.result.projektgruppe_id = group.projektgruppe_id
        category = KT.BARRIER_CATEGORY_ZUSTAENDIGKEIT_UNKLAR

        def register() -> Any:
            answer = api.GetBarrierRegister(
                K.GetBarrierRegisterRequest(projektgruppe_id=group.projektgruppe_id))
            return answer if any(c.category == category for c in answer.cells) else None

        shown = poll("Barriere der Caritas im Register der Projektgruppe beim Kreis", register, self.timeout)
        self.result.register_cells = [
            f"{_name(KT.Rechtskreis, c.rechtskreis_a)}"
            f"{'/' + _name(KT.Rechtskreis, c.rechtskreis_b) if c.rechtskreis_b else ''}"
            f" {_name(KT.BarrierCategory, c.category)}: {c.display}"
            for c in shown.cells]
        self._row(self.kreis.node_id, True,
                  f"{group.name} eingesetzt; Barrierenregister: {'; '.join(self.result.register_cells)} "
                  f"(insgesamt {shown.total_display or '—'})",
                  short="Barrierenregister der Projektgruppe zeigt die Barriere („< 5“)")

    # -- 7 ----------------------------------------------------------------------------------

    def documents(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        clerk = self.api.documents(self.kreis, KREIS_CLERK)
        coordinator = self.api.documents(self.kreis, COORDINATOR)
        year = date.today().year
        for partner, allocation in contract_allocations():
            answer = clerk.RenderDocument(documents_pb2.RenderDocumentRequest(
                kind=documents_pb2.CONTRACT, input=_struct(contract_input(allocation))))
            self._save(answer, f"Weiterleitungsvertrag_{year}_Kreis-Mettmann_an_{partner}.docx")
        today = date.today().isoformat()
        answer = coordinator.RenderConferenceProtocol(documents_pb2.RenderConferenceProtocolRequest(
            conference_id=self.result.conference_id,
            coordination_office="Kreis Mettmann – Kommunales Integrationszentrum",
            signature_function="Koordinatorin KIM"))
        self._save(answer, f"Fallkonferenz-Protokoll_{today}_Kreis-Mettmann.docx")
        answer = coordinator.RenderSessionProtocol(documents_pb2.RenderSessionProtocolRequest(
            session_id=self.result.session_id, issuer="Kreis Mettmann", chair=COORDINATOR.name))
        self._save(answer, f"Beschlussprotokoll_Lenkungsgruppe_{today}_Kreis-Mettmann.docx")
        answer = clerk.RenderDrucksache(documents_pb2.RenderDrucksacheRequest(
            input=_struct(drucksache_input(KREIS_CLERK)), figures_from_case_service=True))
        self._save(answer, f"Drucksache_{today}_Monitoring-KIM_Kreis-Mettmann.docx")

    def _save(self, answer: Any, filename: str) -> None:
        path = self.out_dir / filename
        path.write_bytes(answer.content)
        info = answer.document
        self.result.documents.append(GeneratedDocument(info.title, path, len(answer.content),
                                                       self.kreis.node_id, info.document_id))
        self._row(self.kreis.node_id, len(answer.content) > 0,
                  f"{info.title} ({info.generated_by_username}): {path.name}, {_size(len(answer.content))}",
                  short=str(info.title))

    # -- 8 ----------------------------------------------------------------------------------

    def revoke_consent(self) -> None:
        """The person of the Stadt's case revokes the consent for the Kreis: the Kreis node
        erases what it received and confirms; the confirmation shows on the Stadt's case."""
        stadt, _ = self._cases()
        api = self.api.case(stadt.node, stadt.owner)
        api.RevokeConsent(case_pb2.RevokeConsentRequest(
            case_id=stadt.case_id, consent_id=stadt.consent_id, revoked_on=_day(date.today()),
            reason="Die betroffene Person hat die Einwilligung schriftlich widerrufen."))
        self._row(stadt.node.node_id, True,
                  f"{stadt.owner.username}: Einwilligung für {KREIS} zu {stadt.pseudonym} widerrufen",
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


def erasure_confirmations(case: Any, consent_id: str) -> list[str]:
    """The receivers' erase confirmations recorded on the revoked consent, one German line each
    ("kreis-mettmann (kreis-mettmann) am 21.11.2026 14:03: Fallvorschlag ... gelöscht")."""
    consent = next((c for c in case.consents if c.consent_id == consent_id), None)
    if consent is None:
        return []
    return [f"{c.node} ({c.organization}) am "
            f"{c.erased_at.ToDatetime(tzinfo=UTC).astimezone(BERLIN).strftime('%d.%m.%Y %H:%M')}: "
            f"{c.summary}" for c in consent.erasure_confirmations]


# --- the story's data ------------------------------------------------------------------------

def zielgruppen_catalogue() -> list[KT.ZielgruppeDefinition]:
    """The complete catalogue the Lenkungsgruppe adopts: Kreis Mettmann's four (version 1, as the
    case service ships them) and the new one."""
    from services.case.domain.zielgruppen import METTMANN_V1

    definitions = [
        KT.ZielgruppeDefinition(
            key=d.key, name=d.name, description=d.description, min_age=d.min_age, max_age=d.max_age,
            residence_kinds=[f"RESIDENCE_STATUS_KIND_{k.name}" for k in d.residence_kinds],
            legal_bases=list(d.legal_bases),
            countries_of_origin=[KT.CountryRule(country=c.country, region=c.region)
                                 for c in d.countries_of_origin],
            requires_umf=d.requires_umf)
        for d in METTMANN_V1.definitions
    ]
    definitions.append(KT.ZielgruppeDefinition(
        key=NEW_ZIELGRUPPE_KEY, name=NEW_ZIELGRUPPE_NAME,
        description="Menschen mit einer Aufenthaltserlaubnis zum vorübergehenden Schutz (§ 24 AufenthG).",
        legal_bases=["§ 24 AufenthG"]))
    return definitions


KREIS_PARTY = {
    "name": "Kreis Mettmann",
    "address": "Düsseldorfer Straße 26\n40822 Mettmann",
    "office": "Kommunales Integrationszentrum",
    "represented_by": "den Landrat",
}


def contract_allocations() -> list[tuple[str, dict[str, Any]]]:
    """One Weiterleitung of Case-Management-Stellen (Baustein 2) per partner of the demo."""
    return [
        ("Stadt-Hilden", {"partner": {"name": "Stadt Hilden", "kind": "municipality",
                                      "address": "Am Rathaus 1\n40721 Hilden"}, "fte": 1.5}),
        ("Caritas-Mettmann", {"partner": {"name": "Caritasverband für den Kreis Mettmann e. V.",
                                          "kind": "welfare_org",
                                          "address": "Johannes-Flintrop-Straße 19\n40822 Mettmann"},
                              "municipality": "Stadt Mettmann", "fte": 1.0}),
    ]


def contract_input(allocation: dict[str, Any]) -> dict[str, Any]:
    year = date.today().year
    return {"kreis": KREIS_PARTY, "term": {"from": f"{year}-01-01", "to": f"{year}-12-31"},
            "rates": {"case_management_per_fte": 55000, "kreis_topup_per_fte": 0},
            "allocations": [allocation]}


def drucksache_input(signer: Actor) -> dict[str, Any]:
    today = date.today()
    return {
        "kind": "Mitteilungsvorlage",
        "issuer": "Kreis Mettmann",
        "number": f"KT {today.year}/{today.strftime('%m%d')}",
        "date": today.isoformat(),
        "public": True,
        "department": {"fachbereich": "Jugend, Schule und Integration",
                       "fachdienst": "Kommunales Integrationszentrum"},
        "consultations": [{"body": "Ausschuss für Soziales und Integration",
                           "date": (today + timedelta(days=14)).isoformat(), "role": "Kenntnisnahme"}],
        "title": "Kommunales Integrationsmanagement: Stand der Fallarbeit im Verbund",
        "resolution": "Der Ausschuss nimmt den Bericht der Verwaltung zum Kommunalen "
                      "Integrationsmanagement zur Kenntnis.",
        "financial_impact": "keine",
        "climate_relevance": "nein",
        "body_text": "Die Fallarbeit im Kommunalen Integrationsmanagement wird von der Stadt Hilden, "
                     "der Caritas und dem Kreis Mettmann gemeinsam getragen. Die folgenden Zahlen "
                     "stammen aus den Fallakten der beteiligten Stellen; kleine Fallzahlen sind "
                     "zum Schutz der Betroffenen nicht ausgewiesen.\n\n[Fallzahlen]\n\n"
                     "Über die Fallkonferenzen und die Beschlüsse der Lenkungsgruppe berichtet die "
                     "Verwaltung gesondert.",
        "attachments": [],
        "signature": {"name": signer.name, "function": "Kreistagsbüro"},
    }


def _participant(actor: Actor, role: int) -> K.Participant:
    return K.Participant(person=actor.username, name=actor.name, role=role, organisation=actor.organization)  # type: ignore[arg-type]


AGE_BANDS = {KT.AGE_BAND_UNDER_18: "unter 18", KT.AGE_BAND_FROM_18_TO_27: "18 bis 27",
             KT.AGE_BAND_FROM_28_TO_39: "28 bis 39", KT.AGE_BAND_FROM_40_TO_64: "40 bis 64",
             KT.AGE_BAND_FROM_65: "65 und älter"}


def _eligibility(case: Any) -> str:
    """The check's summary; without a match only that (the reasons name age and status)."""
    summary = str(case.eligibility.summary)
    return summary if case.eligibility.matched else "keine Zielgruppe trifft zu"


def _name(enum: Any, value: int) -> str:
    """An enum value's name without its prefix (\"CASE_STATUS_ADMITTED\" -> \"ADMITTED\")."""
    name = str(enum.Name(value))
    prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum.DESCRIPTOR.name).upper() + "_"
    return name.removeprefix(prefix)


def _day(value: date) -> C.Date:
    return C.Date(year=value.year, month=value.month, day=value.day)


def _stamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value.replace(microsecond=0))
    return stamp


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(data)
    return message


def _german(day: C.Date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB".replace(".", ",")
