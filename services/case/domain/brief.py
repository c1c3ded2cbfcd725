"""The pseudonymised brief (Kurzinformation) of a case for Fallkonferenzen and other nodes.

It carries what a conference needs to discuss a case and nothing that identifies the person:
the pseudonym, status, Zielgruppe, Handlungsfelder, Rechtskreise, an age band (not the birth
date), gender, home Kommune and Zugangsweg, counts of goals and open barriers, and the review
date. Built from the person on the
owning node; only the brief itself leaves it, and only where `policy.release_verdict` allows.

`covered_orgs` names the organisations whose Fallkonferenz consent covers the brief on the day
it was built, so a conference shows it only to participants of those organisations (and of
the owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from services.case.domain.person import Person
from services.case.domain.policy import covered_orgs
from services.case.domain.vocabulary import (
    AccessRoute,
    BarrierCategory,
    BarrierStatus,
    CaseStatus,
    Gender,
    Handlungsfeld,
    Kommune,
    Rechtskreis,
)

if TYPE_CHECKING:  # the case's events carry a brief: case.py imports this module's users
    from services.case.domain.case import Case

#: Bands chosen along the default Zielgruppen (minors, up to 27, older than 27) so that a
#: brief shows whether an age rule applies without narrowing the person down further.
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "unter 18"),
    (18, 27, "18 bis 27"),
    (28, 39, "28 bis 39"),
    (40, 64, "40 bis 64"),
    (65, None, "65 und älter"),
)


def age_band(age: int) -> str:
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    raise ValueError(f"negative age {age}")


@dataclass(frozen=True)
class CaseBrief:
    pseudonym: str
    status: CaseStatus
    owner_org: str
    zielgruppen_version: int
    zielgruppe: str
    handlungsfelder: tuple[Handlungsfeld, ...]
    rechtskreise: tuple[Rechtskreis, ...]
    age_band: str
    received_as_umf: bool
    goals: int
    open_barriers: tuple[BarrierCategory, ...]
    next_review_due: date | None
    #: The foreign organisations a consent covers for the Fallkonferenz on the day (sorted).
    covered_orgs: tuple[str, ...] = ()
    #: The Kommune where the person lives, the Geschlecht and the Zugangsweg: what a
    #: Zielgruppe may name and a Kreis counts by; none of them narrows a person down beyond
    #: the age band's own (a Kommune has thousands of inhabitants).
    home_kommune: Kommune | None = None
    gender: Gender = Gender.OHNE_ANGABE
    access_route: AccessRoute | None = None

    @property
    def status_label(self) -> str:
        return self.status.label


def build_brief(case: Case, person: Person, on: date) -> CaseBrief:
    return CaseBrief(
        pseudonym=case.pseudonym,
        status=case.status,
        owner_org=case.owner_org,
        zielgruppen_version=case.eligibility.catalogue_version,
        zielgruppe=case.eligibility.primary,
        handlungsfelder=case.handlungsfelder,
        rechtskreise=case.rechtskreise,
        age_band=age_band(person.age_on(on)),
        received_as_umf=person.received_as_umf,
        goals=len(case.goals),
        open_barriers=tuple(
            b.category for b in case.barriers
            if b.status in (BarrierStatus.OPEN, BarrierStatus.ESCALATED)
        ),
        next_review_due=case.next_review_due,
        covered_orgs=covered_orgs(case, on),
        home_kommune=person.home_kommune,
        gender=person.gender,
        access_route=case.proposal.access_route,
    )
