"""Projektgruppen: mandate, members, Vorlagen from barrier evidence; the barrier register with
small numbers suppressed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound
from services.conference.domain import events as ev
from services.conference.domain.projektgruppe import (
    BarrierObservation,
    BarrierRegister,
    Projektgruppe,
    ProjektgruppenMember,
    rechtskreis_pairs,
)
from services.conference.domain.vocabulary import (
    BarrierCategory,
    BeschlussStatus,
    Handlungsfeld,
    Rechtskreis,
    Topic,
    VorlageKind,
)
from tests.unit.conference.factories import NOW, make_beschluss, next_id

AUF, SGB3, SGB2 = Rechtskreis.AUFENTHG, Rechtskreis.SGB_III, Rechtskreis.SGB_II


def barriers(n: int, **overrides: object) -> list[BarrierObservation]:
    values: dict[str, object] = {
        "rechtskreise": (AUF, SGB3), "category": BarrierCategory.RECHTLICHE_HUERDE,
        "recorded_on": date(2025, 2, 1), "handlungsfeld": Handlungsfeld.AUSBILDUNG,
    }
    values.update(overrides)
    return [BarrierObservation(barrier_id=next_id("barrier"), **values) for _ in range(n)]  # type: ignore[arg-type]


def make_projektgruppe(**overrides: object) -> Projektgruppe:
    values: dict[str, object] = {
        "name": "Projektgruppe Arbeit", "topic": Topic.ARBEIT, "mandate": make_beschluss(), "now": NOW,
        "members": [ProjektgruppenMember("cm-hilden", "Case Managerin", "stadt-hilden")],
    }
    values.update(overrides)
    return Projektgruppe.establish(**values)  # type: ignore[arg-type]


class TestProjektgruppe:
    def test_is_established_by_a_beschluss_of_the_same_koordinierende_stelle(self) -> None:
        mandate = make_beschluss()
        group = make_projektgruppe(mandate=mandate)
        assert (group.mandate_beschluss_id, group.coordination_org) == (mandate.beschluss_id,
                                                                        mandate.coordination_org)
        assert group.is_member("cm-hilden", "stadt-hilden")
        # The same username at another organisation is another person (issue 12, item 7).
        assert not group.is_member("cm-hilden", "caritas-mettmann")

    def test_a_projektgruppe_works_in_a_kreisangehoerige_stadt_or_kreisweit(self) -> None:
        # Hilden: "Diese Projektgruppen werden in den jeweiligen kreisangehörigen Städten
        # implementiert"; the mandate stays a Beschluss of the Kreis's Lenkungsgruppe.
        mandate = make_beschluss()
        hilden = make_projektgruppe(mandate=mandate, municipality=" stadt-hilden ",
                                    topic=Topic.SOZIALE_INTEGRATION,
                                    name="Projektgruppe Soziale Integration Hilden")
        assert (hilden.municipality, hilden.coordination_org) == ("stadt-hilden", mandate.coordination_org)
        assert hilden.topic.label == "Soziale Integration"
        assert Handlungsfeld.SOZIALE_TEILHABE in hilden.handlungsfelder
        assert make_projektgruppe().municipality == ""
        with pytest.raises(InvalidArgument) as refused:
            make_projektgruppe(mandate=mandate, municipality=mandate.coordination_org)
        assert [v.field for v in refused.value.violations] == ["municipality"]

    def test_discarded_or_zielgruppen_beschluss_is_no_mandate(self) -> None:
        with pytest.raises(FailedPrecondition, match="verworfen"):
            make_projektgruppe(mandate=make_beschluss(status=BeschlussStatus.DISCARDED))
        with pytest.raises(FailedPrecondition, match="Zielgruppen"):
            make_projektgruppe(mandate=make_beschluss(kind=VorlageKind.ZIELGRUPPEN))

    def test_members_join_once_and_leave(self) -> None:
        group = make_projektgruppe()
        with pytest.raises(InvalidArgument):
            group.add_member(ProjektgruppenMember("cm-hilden", "Case Managerin", "stadt-hilden"))
        group.remove_member("cm-hilden", "stadt-hilden")
        with pytest.raises(NotFound):
            group.remove_member("cm-hilden", "stadt-hilden")

    def test_vorlage_links_back_to_the_evidence_counts(self) -> None:
        group = make_projektgruppe()
        register = BarrierRegister(barriers(7))
        evidence = tuple(cell.evidence for cell in register.view(handlungsfelder=group.handlungsfelder).cells)
        vorlage = group.prepare_vorlage(
            title="Ausbildungsduldung", proposed_wording="ABH und Agentur stimmen sich vorab ab.",
            submitted_by="cm-hilden", now=NOW, evidence=evidence,
        )
        assert vorlage.projektgruppe_id == group.projektgruppe_id
        assert [(e.rechtskreis_a, e.rechtskreis_b, e.display) for e in vorlage.evidence] == [(SGB3, AUF, "7")]
        assert group.vorlage(vorlage.vorlage_id) == vorlage
        [event] = group.events
        assert isinstance(event, ev.BeschlussvorlageSubmitted)


class TestBarrierRegister:
    def test_counts_below_five_are_shown_as_less_than_five(self) -> None:
        register = BarrierRegister([
            *barriers(5),
            *barriers(4, category=BarrierCategory.WARTEZEIT),
            *barriers(1, rechtskreise=(SGB2,), category=BarrierCategory.INFORMATIONSFLUSS),
        ])
        view = register.view()
        shown = {(c.rechtskreis_a, c.rechtskreis_b, c.category): c.display for c in view.cells}
        assert shown == {
            (SGB3, AUF, BarrierCategory.RECHTLICHE_HUERDE): "5",
            (SGB3, AUF, BarrierCategory.WARTEZEIT): "< 5",
            (SGB2, None, BarrierCategory.INFORMATIONSFLUSS): "< 5",
        }
        assert [c.count for c in view.cells if c.display == "< 5"] == [None, None]
        assert view.total == 10

    def test_total_is_withheld_when_it_would_reveal_one_suppressed_cell(self) -> None:
        view = BarrierRegister([*barriers(6), *barriers(2, category=BarrierCategory.WARTEZEIT)]).view()
        assert view.total is None and view.total_display == "nicht ausgewiesen"

    def test_total_below_five_is_withheld(self) -> None:
        assert BarrierRegister(barriers(4)).view().total is None

    def test_barrier_between_three_rechtskreise_counts_in_each_pair(self) -> None:
        assert rechtskreis_pairs((SGB3, AUF, SGB2, AUF)) == [(SGB2, SGB3), (SGB2, AUF), (SGB3, AUF)]
        view = BarrierRegister(barriers(5, rechtskreise=(AUF, SGB3, SGB2))).view()
        assert sorted(c.count or 0 for c in view.cells) == [5, 5, 5]
        assert view.total == 5

    def test_redelivered_barrier_is_counted_once(self) -> None:
        register = BarrierRegister()
        [observation] = barriers(1)
        assert register.record(observation) is True
        assert register.record(observation) is False
        assert len(register) == 1

    def test_view_narrows_to_a_topic_and_a_period(self) -> None:
        register = BarrierRegister([
            *barriers(5, handlungsfeld=Handlungsfeld.WOHNEN),
            *barriers(6, recorded_on=date(2024, 6, 1)),
        ])
        assert register.view(handlungsfelder=frozenset({Handlungsfeld.WOHNEN})).total == 5
        assert register.view(since=date(2025, 1, 1)).total == 5
        assert register.view(since=date(2025, 1, 1) + timedelta(days=365)).cells == ()

    def test_observation_without_rechtskreis_is_refused(self) -> None:
        with pytest.raises(FailedPrecondition):
            BarrierRegister(barriers(1, rechtskreise=()))
