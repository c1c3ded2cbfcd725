"""The KIM story (kimctl/story/, what `kim demo` runs) headless against three real nodes of a
federation of their own, and each step's effect asserted on the node where it must show, and
its absence where it must not: the persons' names and birth dates nowhere in the Kreis node's
databases, the Stadt's case unreadable for the Caritas, the Kreis's decisions applied once on
the owning nodes. Then a node outage (the Caritas node stopped while the Kreis decides) and the
peer calls the federation refuses.

Then each organisation's data protection officer at its own node's audit trail, and erasure:
after the revocation and after the Löschfrist of the Caritas's case (closed and anonymised on
its node, the Kreis told, the Fallkonferenz-Protokoll deleted), every collection of every node
is scanned for the persons' names, birth dates and the texts of their cases.

One federation of three nodes for the module (tests/e2e/story_support.py); the story runs once,
the tests read what it left behind."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import date

import grpc
import pymongo
import pytest

from kim.case.v1 import case_pb2, federation_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as K, types_pb2 as KT
from kim.documents.v1 import documents_pb2
from kimctl import nodes
from kimctl.story import (
    CARITAS,
    CARITAS_CASE_MANAGER,
    CARITAS_PERSON,
    COORDINATOR,
    KREIS,
    KREIS_CLERK,
    NEW_ZIELGRUPPE_KEY,
    PENDING_PERSON,
    STADT,
    STADT_CASE_MANAGER,
    STADT_CLERK,
    STADT_PERSON,
    Actor,
    Api,
    FictionalPerson,
    Story,
    StoryCase,
    StoryRun,
    poll,
    run_story,
)
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials
from kimnetz.runtime.service_account import ServiceAccount
from tests.e2e.story_support import ThreeNodes, find_in_databases, scan_databases, three_nodes

TIMEOUT = 60.0


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    with three_nodes(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def story(federation: ThreeNodes, tmp_path_factory: pytest.TempPathFactory) -> StoryRun:
    out = tmp_path_factory.mktemp("out")
    return run_story(federation.settings[KREIS], federation.settings[STADT], federation.settings[CARITAS],
                     federation.token, out, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def api(federation: ThreeNodes) -> Iterator[Api]:
    client = Api(federation.token)
    yield client
    client.close()


def _code(call: object) -> grpc.StatusCode:
    assert callable(call)
    with pytest.raises(grpc.RpcError) as refused:
        call()
    code: grpc.StatusCode = refused.value.code()
    return code


# --- the story -------------------------------------------------------------------------------

def test_the_story_runs_through_every_step(story: StoryRun) -> None:
    failed = [f"{s.step} / {s.node}: {s.detail}" for s in story.steps if not s.ok]
    assert story.ok, f"abgebrochen bei {story.failed_step!r}: {failed}"
    steps = {s.step.split(" ", 1)[0] for s in story.steps}
    assert steps == {"1", "2", "3", "4", "5", "6", "7", "8"}


def test_the_proposals_stay_on_their_owning_nodes(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    assert story.stadt_case and story.caritas_case
    stadt_case, caritas_case = story.stadt_case, story.caritas_case
    stadt, caritas, kreis = federation.node(STADT), federation.node(CARITAS), federation.node(KREIS)
    get = case_pb2.GetCaseRequest(case_id=stadt_case.case_id, purpose="Test")

    # The owner reads the case at home; the Caritas's case manager neither there nor at home.
    assert api.case(stadt, STADT_CASE_MANAGER).GetCase(get).owner_org == STADT
    # A foreign case answers exactly like a missing one (issue 12; before: PERMISSION_DENIED).
    unknown = grpc.StatusCode.NOT_FOUND
    assert _code(lambda: api.case(stadt, CARITAS_CASE_MANAGER).GetCase(get)) == unknown
    assert _code(lambda: api.case(caritas, CARITAS_CASE_MANAGER).GetCase(get)) == unknown
    # The Kreis has no copy of either case, and its coordinator cannot read the person at the
    # Stadt (the consent covers the Fallkonferenz, not the Stammdaten).
    for case in (stadt_case, caritas_case):
        request = case_pb2.GetCaseRequest(case_id=case.case_id, purpose="Test")
        assert _code(lambda r=request: api.case(kreis, COORDINATOR).GetCase(r)) == grpc.StatusCode.NOT_FOUND
    person = case_pb2.GetPersonRequest(case_id=stadt_case.case_id, purpose="Fallkonferenz")
    assert _code(lambda: api.case(stadt, COORDINATOR).GetPerson(person)) == grpc.StatusCode.NOT_FOUND


def _needles(person: FictionalPerson) -> list[str]:
    born = person.birth_date
    return [person.given_name, person.family_name, born.isoformat(), born.strftime("%d.%m.%Y")]


def test_no_personal_data_reaches_the_kreis_node(story: StoryRun, federation: ThreeNodes) -> None:
    assert story.stadt_case and story.caritas_case
    needles = [n for p in (STADT_PERSON, CARITAS_PERSON, PENDING_PERSON) for n in _needles(p)]
    assert find_in_databases(federation.settings[KREIS], needles) == {}
    # The pseudonyms did cross (the scan reads what the Kreis holds) ...
    found = find_in_databases(federation.settings[KREIS], [story.caritas_case.pseudonym])
    assert found, "the scan found not even the pseudonym on the Kreis node"
    # ... and the persons are where they belong: each on its own node only (birth dates stored
    # as dates, so the scan finds them in ISO form).
    assert set(find_in_databases(federation.settings[STADT], needles)) == set(_needles(STADT_PERSON)[:3])
    assert set(find_in_databases(federation.settings[CARITAS], needles)) == {
        *_needles(CARITAS_PERSON)[:3], *_needles(PENDING_PERSON)[:3]}


def test_the_fallkonferenz_decided_on_briefs_and_the_decisions_came_home_once(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    assert story.stadt_case and story.caritas_case
    conference = api.conference(federation.node(KREIS), COORDINATOR).GetConference(
        K.GetConferenceRequest(conference_id=story.conference_id))
    assert conference.status == KT.CONFERENCE_STATUS_CLOSED
    items = {i.brief.pseudonym: i for i in conference.agenda}
    stadt_item, caritas_item = items[story.stadt_case.pseudonym], items[story.caritas_case.pseudonym]
    assert stadt_item.brief.owner_node == federation.ids[STADT]
    assert caritas_item.brief.owner_node == federation.ids[CARITAS]
    assert not stadt_item.brief.HasField("identity") and not caritas_item.brief.HasField("identity")
    assert caritas_item.decision.WhichOneof("kind") == "admission"
    assert stadt_item.decision.WhichOneof("kind") == "referral"

    caritas = api.case(federation.node(CARITAS), CARITAS_CASE_MANAGER).GetCase(
        case_pb2.GetCaseRequest(case_id=story.caritas_case.case_id, purpose="Test"))
    assert [d.outcome for d in caritas.decisions] == [C.CASE_STATUS_ADMITTED]
    assert caritas.case_manager == CARITAS_CASE_MANAGER.username
    stadt = api.case(federation.node(STADT), STADT_CASE_MANAGER).GetCase(
        case_pb2.GetCaseRequest(case_id=story.stadt_case.case_id, purpose="Test"))
    assert [d.outcome for d in stadt.decisions] == [C.CASE_STATUS_REFERRED]
    assert stadt.decisions[0].referral_target == C.REFERRAL_TARGET_MBE
    assert stadt.status == C.CASE_STATUS_REFERRED


def test_the_integrationsplan_and_the_barrier_show_in_the_projektgruppe_register(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    assert story.caritas_case
    case = api.case(federation.node(CARITAS), CARITAS_CASE_MANAGER).GetCase(
        case_pb2.GetCaseRequest(case_id=story.caritas_case.case_id, purpose="Test"))
    assert case.status == C.CASE_STATUS_ACTIVE
    assert len(case.needs) == 1 and len(case.goals) == 1 and len(case.goals[0].steps) == 1
    assert [b.category for b in case.barriers] == [C.BARRIER_CATEGORY_ZUSTAENDIGKEIT_UNKLAR]

    register = api.conference(federation.node(KREIS), COORDINATOR).GetBarrierRegister(
        K.GetBarrierRegisterRequest(projektgruppe_id=story.projektgruppe_id))
    # One barrier, counted under its pair of Rechtskreise; a count below 5 is never given.
    assert [({c.rechtskreis_a, c.rechtskreis_b}, c.category, c.display, c.HasField("count"))
            for c in register.cells] == [
        ({KT.RECHTSKREIS_AUFENTHG, KT.RECHTSKREIS_SGB_III}, KT.BARRIER_CATEGORY_ZUSTAENDIGKEIT_UNKLAR,
         "< 5", False)]
    assert not register.HasField("total")


def test_the_lenkungsgruppe_beschluesse_carry_owner_and_due_date_and_the_zielgruppe_reaches_every_node(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    conference = api.conference(federation.node(KREIS), COORDINATOR)
    for beschluss_id in (story.mandate_beschluss_id, story.zielgruppen_beschluss_id):
        beschluss = conference.GetBeschluss(K.GetBeschlussRequest(beschluss_id=beschluss_id))
        assert beschluss.responsible_person == COORDINATOR.username and beschluss.responsible_org == KREIS
        assert date(beschluss.due_on.year, beschluss.due_on.month, beschluss.due_on.day) > date.today()
        assert (beschluss.votes_yes, beschluss.votes_no) == (1, 0)
        assert beschluss.status == KT.BESCHLUSS_STATUS_OPEN
    zielgruppen = conference.GetBeschluss(K.GetBeschlussRequest(beschluss_id=story.zielgruppen_beschluss_id))
    assert zielgruppen.zielgruppen.version == story.zielgruppen_version >= 2
    assert NEW_ZIELGRUPPE_KEY in {d.key for d in zielgruppen.zielgruppen.definitions}
    session = conference.GetSession(K.GetSessionRequest(session_id=story.session_id))
    assert session.status == KT.SESSION_STATUS_CLOSED and session.quorum.reached

    figures = api.case(federation.node(STADT), STADT_CLERK).GetFigures(case_pb2.GetFiguresRequest())
    assert figures.zielgruppen_version == story.zielgruppen_version
    assert story.pending_case
    pending = api.case(federation.node(CARITAS), CARITAS_CASE_MANAGER).GetCase(
        case_pb2.GetCaseRequest(case_id=story.pending_case.case_id, purpose="Test"))
    assert pending.status == C.CASE_STATUS_PROPOSED
    assert pending.eligibility.zielgruppen_version == story.zielgruppen_version
    assert list(pending.eligibility.matched) == [NEW_ZIELGRUPPE_KEY]


def test_the_documents_are_written_and_kept_by_the_kreis(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    names = [d.path.name for d in story.documents]
    assert len(names) == 5
    assert sum(n.startswith("Weiterleitungsvertrag_") for n in names) == 2
    assert any(n.startswith("Fallkonferenz-Protokoll_") for n in names)
    assert any(n.startswith("Beschlussprotokoll_Lenkungsgruppe_") for n in names)
    assert any(n.startswith("Drucksache_") for n in names)
    for document in story.documents:
        content = document.path.read_bytes()
        assert len(content) == document.size > 0
        assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(content)).namelist()

    # Kept by the Kreis for its organisation (whoever of it generated them), nowhere else.
    every = documents_pb2.ListDocumentsRequest()
    listed = api.documents(federation.node(KREIS), KREIS_CLERK).ListDocuments(every)
    assert {d.document_id for d in story.documents} <= {d.document_id for d in listed.documents}
    at_stadt = api.documents(federation.node(STADT), STADT_CLERK).ListDocuments(every)
    assert list(at_stadt.documents) == []
    drucksache = next(d for d in story.documents if d.path.name.startswith("Drucksache_"))
    stored = api.documents(federation.node(KREIS), KREIS_CLERK).GetDocument(
        documents_pb2.GetDocumentRequest(document_id=drucksache.document_id))
    # The Drucksache's figures are the federation's: every node's, named with its Stand.
    assert "Fälle nach Status" in stored.input_json
    names = ((KREIS, "Kreis Mettmann"), (STADT, "Stadt Hilden"), (CARITAS, "Caritasverband"))
    for organization, name in names:
        assert federation.ids[organization] in stored.input_json
        assert name in stored.input_json  # named as the federation file names the organisation
    # The protocols carry pseudonyms only.
    protocol = next(d for d in story.documents if d.path.name.startswith("Fallkonferenz-Protokoll_"))
    text = zipfile.ZipFile(protocol.path).read("word/document.xml").decode("utf-8")
    assert story.caritas_case and story.caritas_case.pseudonym in text
    assert CARITAS_PERSON.family_name not in text and STADT_PERSON.family_name not in text


def test_a_revoked_consent_is_erased_at_the_kreis_and_confirmed_on_the_stadt_case(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    assert story.stadt_case
    assert story.erasure_confirmations
    case = api.case(federation.node(STADT), STADT_CASE_MANAGER).GetCase(
        case_pb2.GetCaseRequest(case_id=story.stadt_case.case_id, purpose="Test"))
    consent = next(c for c in case.consents if c.consent_id == story.stadt_case.consent_id)
    assert consent.HasField("revoked_on") and not consent.erasure_outstanding
    confirmed = [(c.node, c.organization) for c in consent.erasure_confirmations]
    assert confirmed == [(federation.ids[KREIS], KREIS)]
    assert "gelöscht" in consent.erasure_confirmations[0].summary
    # At the Kreis the Fallvorschlag is gone from its registry; the Caritas's, whose consent
    # stands, is still there. The closed Fallkonferenz is the frozen record of the decision
    # already sent and keeps the item with pseudonym and decision.
    assert story.caritas_case
    ids = [story.stadt_case.case_id, story.caritas_case.case_id]
    found = find_in_databases(federation.settings[KREIS], ids)
    assert not [c for c in found.get(story.stadt_case.case_id, []) if c.endswith(".proposals")]
    assert [c for c in found.get(story.caritas_case.case_id, []) if c.endswith(".proposals")]
    conference = api.conference(federation.node(KREIS), COORDINATOR).GetConference(
        K.GetConferenceRequest(conference_id=story.conference_id))
    item = next(i for i in conference.agenda if i.brief.pseudonym == story.stadt_case.pseudonym)
    assert item.decision.WhichOneof("kind") == "referral"


# --- a node outage ---------------------------------------------------------------------------

def test_a_decision_taken_while_the_owning_node_is_down_is_applied_once_when_it_returns(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    outage = FictionalPerson("Dragana", "Petrović", date(1990, 1, 30), "RS",
                             C.RESIDENCE_STATUS_KIND_DULDUNG, "§ 60a AufenthG", ("sr", "de"))
    runner = Story(federation.node(KREIS), federation.node(STADT), federation.node(CARITAS),
                   federation.token, federation.home / "out-outage", timeout=TIMEOUT)
    case = StoryCase(outage, federation.node(CARITAS), CARITAS_CASE_MANAGER)
    with runner.step("Ausfall"):
        runner.propose(case, reason="Arbeitsaufnahme scheitert an der Beschäftigungserlaubnis.",
                       handlungsfelder=[C.HANDLUNGSFELD_ARBEIT], rechtskreise=[C.RECHTSKREIS_AUFENTHG],
                       proposer_unit="Migrationsdienst der Caritas")
    conference = api.conference(federation.node(KREIS), COORDINATOR)
    scheduled = conference.ScheduleConference(K.ScheduleConferenceRequest(
        starts_at=_in_minutes(5), place="Kreishaus Mettmann", participants=[K.Participant(
            person=COORDINATOR.username, name=COORDINATOR.name, role=KT.PARTICIPANT_ROLE_COORDINATOR,
            organisation=KREIS)]))
    runner.build_agenda_until(scheduled.conference_id, {case.pseudonym})
    runner.api.close()

    federation.down(CARITAS)
    try:
        # An agenda built now names the node it could not reach, with the case it waits for.
        other = conference.ScheduleConference(K.ScheduleConferenceRequest(
            starts_at=_in_minutes(10), place="Kreishaus Mettmann", participants=[K.Participant(
                person=COORDINATOR.username, name=COORDINATOR.name, role=KT.PARTICIPANT_ROLE_COORDINATOR,
                organisation=KREIS)]))
        built = conference.BuildAgenda(K.BuildAgendaRequest(conference_id=other.conference_id))
        unreachable = {u.node_id: list(u.pseudonyms) for u in built.unreachable_nodes}
        assert case.pseudonym in unreachable.get(federation.ids[CARITAS], []), built
        agenda = conference.GetConference(
            K.GetConferenceRequest(conference_id=scheduled.conference_id)).agenda
        item = next(i for i in agenda if i.brief.pseudonym == case.pseudonym)
        conference.StartConference(K.StartConferenceRequest(conference_id=scheduled.conference_id))
        conference.DecideItem(K.DecideItemRequest(
            conference_id=scheduled.conference_id, case_id=item.brief.case_id,
            decision=K.Decision(admission=K.Admission(assigned_org=CARITAS,
                                                      case_manager=CARITAS_CASE_MANAGER.username))))
        conference.CloseConference(K.CloseConferenceRequest(conference_id=scheduled.conference_id))
        time.sleep(2)  # the decision is published and waits in the broker for the Caritas node
    finally:
        federation.up(CARITAS)

    caritas = api.case(federation.node(CARITAS), CARITAS_CASE_MANAGER)
    request = case_pb2.GetCaseRequest(case_id=case.case_id, purpose="Test")
    admitted = poll("Aufnahme nach dem Ausfall", lambda: (
        c if (c := caritas.GetCase(request)).status == C.CASE_STATUS_ADMITTED else None), TIMEOUT)
    time.sleep(3)  # a second delivery, if any, would be applied by now
    again = caritas.GetCase(request)
    assert [d.outcome for d in again.decisions] == [C.CASE_STATUS_ADMITTED]
    assert again.version == admitted.version


def test_a_proposal_made_while_the_kreis_node_is_down_reaches_its_agenda_once_when_it_returns(
    story: StoryRun, federation: ThreeNodes, api: Api
) -> None:
    person = FictionalPerson("Bashir", "Rahimi", date(1995, 5, 12), "AF",
                             C.RESIDENCE_STATUS_KIND_AUFENTHALTSGESTATTUNG, "§ 55 AsylG", ("prs", "de"))
    runner = Story(federation.node(KREIS), federation.node(STADT), federation.node(CARITAS),
                   federation.token, federation.home / "out-outage", timeout=TIMEOUT)
    case = StoryCase(person, federation.node(STADT), STADT_CASE_MANAGER)
    federation.down(KREIS)
    try:
        with runner.step("Ausfall des Kreises"):
            runner.propose(case, reason="Sprachkurs und Arbeitsmarktzugang stimmen nicht überein.",
                           handlungsfelder=[C.HANDLUNGSFELD_SPRACHE], rechtskreise=[C.RECHTSKREIS_ASYLBLG],
                           proposer_unit="Integrationsbüro der Stadt Hilden")
        time.sleep(2)  # the proposal event leaves the Stadt and waits in the Kreis's queue
    finally:
        federation.up(KREIS)

    conference = api.conference(federation.node(KREIS), COORDINATOR)
    scheduled = conference.ScheduleConference(K.ScheduleConferenceRequest(
        starts_at=_in_minutes(5), place="Kreishaus Mettmann", participants=[K.Participant(
            person=COORDINATOR.username, name=COORDINATOR.name, role=KT.PARTICIPANT_ROLE_COORDINATOR,
            organisation=KREIS)]))
    built = runner.build_agenda_until(scheduled.conference_id, {case.pseudonym})
    runner.api.close()
    assert [i.brief.pseudonym for i in built.conference.agenda].count(case.pseudonym) == 1
    registered = find_in_databases(federation.settings[KREIS], [case.case_id]).get(case.case_id, [])
    assert [c for c in registered if c.endswith(".proposals")] == [
        f"{federation.settings[KREIS].database_name('conference')}.proposals"]


# --- what the federation refuses -------------------------------------------------------------

def _service_token(settings: object) -> str:
    from kimnetz.runtime.settings import Settings

    assert isinstance(settings, Settings)
    return ServiceAccount(settings.keycloak_url, settings.keycloak_realm, settings.client_id,
                          settings.client_secret).token()


def _peer_call(target_settings: object, credentials: NodeCredentials, token: str, method: str,
               request: object, response: type) -> object:
    from kimnetz.runtime.settings import Settings

    assert isinstance(target_settings, Settings)
    with peer_channel(f"127.0.0.1:{target_settings.federation_port}", credentials) as channel:
        call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=response.FromString)
        return call(request, timeout=15, metadata=[("authorization", f"Bearer {token}"),
                                                   ("x-kim-acting-user", "k.koordination")])


BRIEFS = "/kim.case.v1.CaseFederation/GetCaseBriefs"
REFUSED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


def test_the_kreis_node_fetches_briefs_of_cases_proposed_to_it(
    story: StoryRun, federation: ThreeNodes
) -> None:
    """The counter-check of the refusals below: the same call as the Kreis node is answered."""
    assert story.caritas_case
    kreis = federation.settings[KREIS]
    answer = _peer_call(federation.settings[CARITAS], nodes.node_credentials(federation.ids[KREIS]),
                        _service_token(kreis), BRIEFS,
                        federation_pb2.GetCaseBriefsRequest(case_ids=[story.caritas_case.case_id],
                                                            purpose="Fallkonferenz"),
                        federation_pb2.GetCaseBriefsResponse)
    assert isinstance(answer, federation_pb2.GetCaseBriefsResponse)
    assert [b.pseudonym for b in answer.briefs] == [story.caritas_case.pseudonym]


def test_a_welfare_node_may_not_fetch_briefs_from_a_municipality(
    story: StoryRun, federation: ThreeNodes
) -> None:
    assert story.stadt_case
    caritas = federation.settings[CARITAS]
    with pytest.raises(grpc.RpcError) as refused:
        _peer_call(federation.settings[STADT], nodes.node_credentials(federation.ids[CARITAS]),
                   _service_token(caritas), BRIEFS,
                   federation_pb2.GetCaseBriefsRequest(case_ids=[story.stadt_case.case_id], purpose="Test"),
                   federation_pb2.GetCaseBriefsResponse)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_nobody_lists_another_nodes_cases_over_the_peer_port(federation: ThreeNodes) -> None:
    kreis = federation.settings[KREIS]
    with pytest.raises(grpc.RpcError) as refused:
        _peer_call(federation.settings[CARITAS], nodes.node_credentials(federation.ids[KREIS]),
                   _service_token(kreis), "/kim.case.v1.CaseService/ListCases",
                   case_pb2.ListCasesRequest(purpose="Test"), case_pb2.ListCasesResponse)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_node_certificate_with_another_organisations_token_is_refused(
    story: StoryRun, federation: ThreeNodes
) -> None:
    assert story.caritas_case
    with pytest.raises(grpc.RpcError) as refused:
        _peer_call(federation.settings[CARITAS], nodes.node_credentials(federation.ids[KREIS]),
                   _service_token(federation.settings[STADT]), BRIEFS,
                   federation_pb2.GetCaseBriefsRequest(case_ids=[story.caritas_case.case_id], purpose="Test"),
                   federation_pb2.GetCaseBriefsResponse)
    assert refused.value.code() in REFUSED


def test_an_unregistered_certificate_of_the_federation_ca_is_refused(
    story: StoryRun, federation: ThreeNodes
) -> None:
    assert story.stadt_case
    stranger = DevCertificateAuthority.load(nodes.kim_home() / "pki").issue("fremder-knoten")
    with pytest.raises(grpc.RpcError) as refused:
        _peer_call(federation.settings[STADT], stranger, _service_token(federation.settings[KREIS]), BRIEFS,
                   federation_pb2.GetCaseBriefsRequest(case_ids=[story.stadt_case.case_id], purpose="Test"),
                   federation_pb2.GetCaseBriefsResponse)
    assert refused.value.code() in REFUSED


def _in_minutes(minutes: int) -> object:
    from datetime import UTC, datetime, timedelta

    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromDatetime((datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0))
    return stamp


# --- data protection officers ----------------------------------------------------------------

STADT_DPO = Actor(STADT, "j.datenschutz", "Jonas Datenschutz", "Datenschutzbeauftragter der Stadt Hilden")
CARITAS_DPO = Actor(CARITAS, "s.datenschutz", "Sabine Datenschutz", "Datenschutzbeauftragte der Caritas")
KREIS_DPO = Actor(KREIS, "d.schutz", "Dieter Schutz", "Datenschutzbeauftragter des Kreises")


def test_each_organisations_data_protection_officer_verifies_the_audit_trail_of_its_own_node_only(
    story: StoryRun, federation: ThreeNodes, api: Api,
) -> None:
    assert story.stadt_case
    stadt = federation.node(STADT)
    verified = api.case(stadt, STADT_DPO).VerifyAuditChain(case_pb2.VerifyAuditChainRequest())
    assert verified.intact and verified.checked > 10, verified
    listed = api.case(stadt, STADT_DPO).ListAuditEntries(
        case_pb2.ListAuditEntriesRequest(case_id=story.stadt_case.case_id, page_size=100))
    calls = {e.call for e in listed.entries}
    assert {"ProposeCase", "RevokeConsent", "ConfirmErasure"} <= calls, calls
    assert {e.case_id for e in listed.entries} == {story.stadt_case.case_id}
    caritas = api.case(federation.node(CARITAS), CARITAS_DPO).VerifyAuditChain(
        case_pb2.VerifyAuditChainRequest())
    assert caritas.intact and caritas.checked > 10, caritas
    # The Kreis's data protection officer has no say over the Stadt's trail.
    denied = grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: api.case(stadt, KREIS_DPO).VerifyAuditChain(case_pb2.VerifyAuditChainRequest())) \
        == denied
    assert _code(lambda: api.case(stadt, KREIS_DPO).ListAuditEntries(case_pb2.ListAuditEntriesRequest())) \
        == denied
    assert _code(lambda: api.case(stadt, CARITAS_DPO).ListAuditEntries(case_pb2.ListAuditEntriesRequest())) \
        == denied


# --- erasure: revocation and retention leave nothing behind -----------------------------------

def _case_texts(case: case_pb2.Case) -> list[str]:
    """Everything written about the person in the case: the eligibility check's reasons, the
    plan's, barriers' and journal's texts, the proposal's reason."""
    texts = [r for m in case.eligibility.mismatches for r in m.reasons]
    texts += [case.proposal.reason, *(n.need for n in case.needs), *(g.title for g in case.goals),
              *(s.description for g in case.goals for s in g.steps), *(b.description for b in case.barriers),
              *(j.text for j in case.journal)]
    return [t for t in dict.fromkeys(texts) if len(t) >= 8]


def test_after_revocation_and_retention_no_node_holds_anything_of_the_persons(
    story: StoryRun, federation: ThreeNodes, api: Api,
) -> None:
    """Runs last (it closes the Caritas's case and applies the Löschfrist on its node)."""
    from datetime import timedelta

    from kimnetz.runtime import mongo
    from services.case.composition import case_services
    from services.case.repository import MongoCaseRepository
    from services.case.settings import RetentionMode
    from services.documents.repository import MongoDocumentsRepository
    from services.documents.service import DocumentsService

    assert story.stadt_case and story.caritas_case
    nodes = [federation.settings[o] for o in (KREIS, STADT, CARITAS)]
    # 1. The Stadt's person after the revocation: nowhere but on the Stadt's own node.
    for settings in (federation.settings[KREIS], federation.settings[CARITAS]):
        scan = scan_databases(settings, _needles(STADT_PERSON))
        assert scan.found == {}, f"{scan.found}; scanned: {scan.scanned}"

    # 2. The Caritas's case is closed, its Löschfrist (0 days here) applied on its node.
    caritas_node = federation.node(CARITAS)
    cases = api.case(caritas_node, CARITAS_CASE_MANAGER)
    case = cases.GetCase(case_pb2.GetCaseRequest(case_id=story.caritas_case.case_id, purpose="Test"))
    texts = _case_texts(case)
    assert texts and any(m.reasons for m in case.eligibility.mismatches), "the counter-check"
    outcomes = [case_pb2.GoalOutcomeInput(goal_id=g.goal_id, outcome=C.GOAL_OUTCOME_ACHIEVED)
                for g in case.goals]
    cases.CloseCase(case_pb2.CloseCaseRequest(
        case_id=case.case_id, reason=C.CLOSURE_REASON_GOALS_ACHIEVED, outcomes=outcomes))
    caritas = federation.settings[CARITAS]
    # The run's integration tier left the aliases on databases of its own: this node's instead.
    for alias in ("case", "documents"):
        mongo.disconnect(alias)
    mongo.connect(caritas, "case")
    service = case_services(MongoCaseRepository(caritas.node_id), node_org=CARITAS)
    # As the worker's timer would: a run that meets the case while its closing is still being
    # written (the relay sending its events) leaves it to the next run.
    poll("Löschfrist angewandt", lambda: case.case_id in service.datenschutz.apply_retention(
        timedelta(0), RetentionMode.ANONYMISE) or None, 30)
    # The Kreis is told and answers: its confirmation lands in the Caritas's audit trail.
    audit = pymongo.MongoClient(caritas.mongodb_uri)[caritas.database_name("case")]["audit"]
    poll("Löschbestätigung des Kreises", lambda: audit.find_one(
        {"case_id": case.case_id, "call": "ConfirmRetentionErasure"}), TIMEOUT)
    # The Kreis's Fallkonferenz-Protokoll (a case record) goes after its Löschfrist (0 days here).
    kreis = federation.settings[KREIS]
    mongo.connect(kreis, "documents")
    protocols = [d.document_id for d in story.documents if d.path.name.startswith("Fallkonferenz-Protokoll_")]
    deleted = DocumentsService(MongoDocumentsRepository(kreis.node_id)).apply_retention(timedelta(0))
    assert set(protocols) <= {d.document_id for d in deleted}
    assert {d.kind for d in deleted} == {"fallkonferenz_protokoll"}, "administrative records stay"

    # 3. Every collection of every node: neither name nor birth date of the Caritas's person,
    #    and where the case is still named (its anonymised figures, the audit trail, the frozen
    #    record of the closed Fallkonferenz), none of its texts or eligibility reasons.
    scanned: list[str] = []
    for settings in nodes:
        scan = scan_databases(settings, _needles(CARITAS_PERSON), scoped=[case.case_id, case.pseudonym],
                              scoped_needles=texts)
        scanned += scan.scanned
        assert scan.found == {}, f"{settings.node_id}: {scan.found}; scanned: {scan.scanned}"
    assert any(s.endswith(".case_changes") for s in scanned) and any(s.endswith(".chunks") for s in scanned)
    print("scanned after erasure:", ", ".join(scanned))
    # The registry entry at the Kreis is gone; the anonymised case still counts at the Caritas.
    registered = find_in_databases(kreis, [case.case_id]).get(case.case_id, [])
    assert not [c for c in registered if c.endswith(".proposals")], registered
    assert service.verbund.figures()["status"].get("closed") == 1
    for alias in ("case", "documents"):
        mongo.disconnect(alias)


def test_no_log_of_any_node_names_a_person(story: StoryRun, federation: ThreeNodes) -> None:
    """Every log the story's nodes wrote (api, worker and any other process of each node), read
    after the whole module ran: neither the persons' names nor their birth dates (issue 17,
    "Metrics, traces and logs"). The logs are JSON lines with the node in every line."""
    assert story.stadt_case and story.caritas_case
    needles = [n for p in (STADT_PERSON, CARITAS_PERSON, PENDING_PERSON) for n in _needles(p)]
    logs = sorted((federation.home / "nodes").glob("*/*.log"))
    assert {log.stem for log in logs} >= {"api", "worker"}, logs
    read = 0
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        read += len(text)
        found = [needle for needle in needles if needle.lower() in text.lower()]
        assert found == [], f"{log}: {found}"
    assert read > 10_000, "the nodes logged almost nothing: the scan would prove nothing"
    api_log = federation.home / "nodes" / federation.ids[KREIS] / "api.log"
    json_lines = [line for line in api_log.read_text().splitlines() if line.startswith("{")]
    assert json_lines and json.loads(json_lines[-1])["node"] == federation.ids[KREIS]
