"""Who sees which brief on a Fallkonferenz agenda: the owner's own participants and those of the
organisations the person's consent covers (the brief's `covered_orgs`, named by the owning
node); any other participant reads the item withheld, with the German note why."""

from __future__ import annotations

from datetime import date

from services.conference import codec
from services.conference.domain.briefs import WITHHELD, CaseBrief
from services.conference.messages import conference_message
from tests.unit.conference.factories import KI, NOW, make_brief, make_conference

ABH = "abh-mettmann"


def test_a_brief_is_visible_to_the_owner_and_to_the_organisations_its_consent_covers() -> None:
    brief = make_brief(covered_orgs=(KI,))
    assert brief.visible_to("stadt-hilden") and brief.visible_to(KI)
    assert not brief.visible_to(ABH) and not brief.visible_to("") and not brief.visible_to(None)
    assert make_brief(covered_orgs=(ABH, KI)).visible_to(ABH)
    assert not make_brief(covered_orgs=()).visible_to(KI), "no consent: only the owner"


def test_a_brief_stored_before_it_named_its_covered_orgs_counts_for_the_koordinierende_stelle_only() -> None:
    stored = codec.encode(make_brief(covered_orgs=(ABH, KI)))
    del stored["covered_orgs"]
    old = codec.decode(CaseBrief, stored)
    assert old.covered_orgs is None and old.covered_for == (KI,)
    assert old.visible_to(KI) and not old.visible_to(ABH)


def test_the_agenda_withholds_from_each_participant_what_the_consent_does_not_cover() -> None:
    conference = make_conference()
    shared = make_brief(covered_orgs=(ABH, KI), proposed_on=date(2025, 2, 10))  # first on the agenda
    kreis_only = make_brief(covered_orgs=(KI,))
    conference.build_agenda([shared, kreis_only], NOW)
    by_org = {org: conference_message(conference, viewer=org) for org in (KI, ABH, "stadt-hilden", "")}
    assert [i.brief.case_id for i in by_org[KI].agenda] == [shared.case_id, kreis_only.case_id]
    assert [i.brief.case_id for i in by_org["stadt-hilden"].agenda] == [shared.case_id, kreis_only.case_id]
    abh = {i.position: i for i in by_org[ABH].agenda}
    assert abh[1].brief.case_id == shared.case_id and not abh[1].withheld
    assert abh[2].withheld == WITHHELD
    assert WITHHELD == "Die Einwilligung umfasst die Weitergabe an Ihre Organisation nicht."
    assert not abh[2].HasField("brief") and not abh[2].HasField("decision")
    assert all(i.withheld and not i.HasField("brief") for i in by_org[""].agenda)
    assert list(by_org[KI].agenda[0].brief.covered_orgs) == [ABH, KI]
