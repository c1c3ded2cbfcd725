"""Live conference data -> Protokoll input (services/documents/inputs/fallkonferenz_protokoll.py
and lenkungsgruppe_protokoll.py): the records as the conference service's adapter hands them
over, checked by the same parser as the YAML files."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from kimnetz.errors import FailedPrecondition
from services.documents.conference import (
    BeschlussRecord,
    CaseDecision,
    ConferenceItem,
    ConferenceParticipant,
    ConferenceRecord,
    Gremium,
    GremiumMember,
    SessionItem,
    SessionRecord,
)
from services.documents.domain.kinds import FALLKONFERENZ, LENKUNGSGRUPPE
from services.documents.inputs.fallkonferenz_protokoll import ConferenceOptions, fallkonferenz_input
from services.documents.inputs.lenkungsgruppe_protokoll import SessionOptions, lenkungsgruppe_input

STARTED = datetime(2026, 3, 12, 8, 30, tzinfo=UTC)  # 09:30 in Mettmann


def item(position: int, pseudonym: str, decision: CaseDecision | None,
         kind: str = "proposal") -> ConferenceItem:
    return ConferenceItem(position=position, kind=kind, pseudonym=pseudonym, owner_org="kreis-mettmann",
                          age_band="from_28_to_39", zielgruppe="Geduldete über 27",
                          handlungsfelder=("aufenthalt_identitaet", "ausbildung"), rechtskreise=("sgb_iii",),
                          decision=decision)


CONFERENCE = ConferenceRecord(
    conference_id="c1", coordination_org="kreis-mettmann", status="closed",
    starts_at=STARTED, place="Kreishaus", video_link="",
    participants=(ConferenceParticipant("koord.kreis", "koord.kreis", "coordinator", "kreis-mettmann"),
                  ConferenceParticipant("cm.kreis", "cm.kreis", "case_manager", "kreis-mettmann")),
    items=(
        item(2, "KIM-2026-2M8XRT", CaseDecision("referral", "koord.kreis", referral_target="mbe")),
        item(1, "KIM-2026-7F3K9Q", CaseDecision("admission", "koord.kreis", assigned_org="kreis-mettmann",
                                                case_manager="cm.kreis")),
        item(3, "KIM-2026-AAAAAA", None),
        item(4, "KIM-2025-9QW4ZD", CaseDecision("review", "koord.kreis", review_outcome="round_table",
                                                offices_to_invite=("Jobcenter", "ABH")), kind="review"),
    ),
    started_at=STARTED, closed_at=datetime(2026, 3, 12, 10, 15, tzinfo=UTC), closed_by="koord.kreis",
)


def test_a_closed_conference_gives_its_decided_items_in_agenda_order_in_local_time() -> None:
    data = fallkonferenz_input(CONFERENCE, ConferenceOptions("koord.kreis", next_date=date(2026, 6, 11)))
    context = FALLKONFERENZ.prepare(data).context
    assert (context["date"], context["times"]) == ("12.03.2026", "09:30–11:15 Uhr")
    assert [i["pseudonym"] for i in context["items"]] == [
        "KIM-2026-7F3K9Q", "KIM-2026-2M8XRT", "KIM-2025-9QW4ZD"]
    admission, referral, review = context["items"]
    assert admission["assigned_to"] == "kreis-mettmann, Case Management: cm.kreis"
    assert referral["assigned_to"] == "Migrationsberatung für Erwachsene (MBE)"
    assert review["decision"] == "Runder Tisch mit den beteiligten Stellen"
    assert "Einzuladen: Jobcenter, ABH." in " ".join(review["reasoning"])
    assert "Aufenthalt/Identität, Ausbildung" in " ".join(admission["brief"])
    assert context["next_date"] == "11.06.2026" and context["signature"]["name"] == "koord.kreis"


def test_a_protokoll_prints_a_brief_only_where_the_consent_covers_every_participating_organisation(
) -> None:
    abh = ConferenceParticipant("lotsin.abh", "Lotsin ABH", "immigration_liaison", "abh-kreis-mettmann")
    stadt_case = replace(item(1, "KIM-2026-7F3K9Q", CaseDecision("rejection", "koord.kreis", reason="x")),
                         owner_org="stadt-hilden", covered_orgs=("kreis-mettmann",))
    covered = replace(stadt_case, position=2, pseudonym="KIM-2026-2M8XRT",
                      covered_orgs=("abh-kreis-mettmann", "kreis-mettmann"))
    record = replace(CONFERENCE, participants=(*CONFERENCE.participants, abh), items=(stadt_case, covered))
    context = FALLKONFERENZ.prepare(fallkonferenz_input(record, ConferenceOptions("koord.kreis"))).context
    first, second = context["items"]
    assert "Aufenthalt/Identität" not in " ".join(first["brief"])
    assert "Einwilligung umfasst nicht jede teilnehmende Organisation" in " ".join(first["brief"])
    assert "Aufenthalt/Identität, Ausbildung" in " ".join(second["brief"])


@pytest.mark.parametrize("status", ["planned", "prepared", "running"])
def test_a_conference_that_is_not_closed_has_no_protokoll(status: str) -> None:
    with pytest.raises(FailedPrecondition, match="noch nicht abgeschlossen"):
        fallkonferenz_input(replace(CONFERENCE, status=status), ConferenceOptions("koord.kreis"))


def test_a_conference_closed_without_any_decision_has_nothing_to_record() -> None:
    with pytest.raises(FailedPrecondition, match="ohne Entscheidung"):
        fallkonferenz_input(replace(CONFERENCE, items=(item(1, "KIM-2026-AAAAAA", None),)),
                            ConferenceOptions("koord.kreis"))


MEMBERS = (
    GremiumMember("m1", "lenkung.kreis", "Lena Lenkung", "kreis-mettmann", "Dezernentin", True),
    GremiumMember("m2", "jc.leitung", "Leitung Jobcenter", "jobcenter", "Geschäftsführung", True,
                  deputy_person="jc.vertretung", deputy_name="Vertretung Jobcenter"),
    GremiumMember("m3", "abh.leitung", "Leitung ABH", "kreis-mettmann", "", True),
    GremiumMember("m4", "gast", "Gast", "Caritas", "Beratung", False),
)
GREMIUM = Gremium("g1", "kreis-mettmann", "Lenkungsgruppe KIM", MEMBERS)
EARLIER = SessionRecord(
    session_id="s1", gremium_id="g1", coordination_org="kreis-mettmann", status="closed",
    starts_at=datetime(2026, 1, 20, 9, tzinfo=UTC), place="Kreishaus",
    items=(SessionItem("v0", "Sprechstunde ABH", "…", "adopted", 2, 0, 0, "b0"),),
    present=("lenkung.kreis", "jc.leitung"), quorum_required=2,
    opened_at=datetime(2026, 1, 20, 9, tzinfo=UTC), closed_at=datetime(2026, 1, 20, 11, tzinfo=UTC),
)
SESSION = SessionRecord(
    session_id="s2", gremium_id="g1", coordination_org="kreis-mettmann", status="closed",
    starts_at=datetime(2026, 3, 20, 9, tzinfo=UTC), place="Kreishaus",
    items=(SessionItem("v1", "Clearingstelle", "Vorschlag", "adopted", 2, 0, 1, "b1"),
           SessionItem("v2", "Zielgruppen", "Vorschlag ZG", "adopted", 0, 0, 0, "b2"),
           SessionItem("v3", "Abgelehnt", "Vorschlag A", "rejected", 1, 2, 0, ""),
           SessionItem("v4", "Vertagt", "Vorschlag V", "postponed", 0, 0, 0, "")),
    present=("lenkung.kreis", "jc.vertretung", "abh.leitung", "gast"), quorum_required=2,
    opened_at=datetime(2026, 3, 20, 9, tzinfo=UTC), closed_at=datetime(2026, 3, 20, 11, tzinfo=UTC),
)


def beschluss(bid: str, session: str, vorlage: str, adopted: date, due: date, status: str = "open",
              mode: str = "vote", votes: tuple[int, int, int] = (2, 0, 1)) -> BeschlussRecord:
    return BeschlussRecord(bid, session, vorlage, f"Titel {bid}", f"Wortlaut {bid}", "kreis-mettmann",
                           "lenkung.kreis", due, adopted, mode, *votes, status, "")


BESCHLUESSE = [
    beschluss("b2", "s2", "v2", date(2026, 3, 20), date(2026, 3, 20), mode="consensus", votes=(0, 0, 0)),
    beschluss("b1", "s2", "v1", date(2026, 3, 20), date(2026, 6, 30)),
    beschluss("b0", "s1", "v0", date(2026, 1, 20), date(2026, 2, 28), status="in_progress"),
]


def test_a_closed_session_gives_results_numbers_deputies_and_the_beschlussverfolgung() -> None:
    data = lenkungsgruppe_input(SESSION, GREMIUM, [SESSION, EARLIER], BESCHLUESSE,
                                SessionOptions("koord.kreis", issuer="Kreis Mettmann"))
    context = LENKUNGSGRUPPE.prepare(data).context
    assert context["session"] == "2. Sitzung 2026" and context["issuer"] == "Kreis Mettmann"
    assert [m["name"] for m in context["members_present"]] == [
        "Lena Lenkung", "Leitung Jobcenter (vertreten durch Vertretung Jobcenter)", "Leitung ABH", "Gast"]
    assert context["members_present"][3]["function"] == "Beratung (beratend)"
    assert [(b["number"], b["result"]) for b in context["beschluesse"]] == [
        ("2/2026-1", "angenommen"), ("2/2026-2", "einvernehmlich angenommen"), ("2/2026-3", "abgelehnt")]
    assert context["beschluesse"][1]["due"] == "20.03.2026"  # due on the session day is allowed
    assert context["beschluesse"][2]["responsible"] == "entfällt (abgelehnt)"
    assert [(t["number"], t["status"]) for t in context["tracking"]] == [
        ("1/2026-1", "in Umsetzung – überfällig"), ("2/2026-1", "offen"), ("2/2026-2", "offen")]


def test_a_session_that_is_not_closed_has_no_beschlussprotokoll() -> None:
    with pytest.raises(FailedPrecondition, match="noch nicht geschlossen"):
        lenkungsgruppe_input(replace(SESSION, status="open"), GREMIUM, [SESSION], BESCHLUESSE,
                             SessionOptions("koord.kreis"))
