"""The pseudonymised case brief a Fallkonferenz sees, and the only way identity may enter it.

A brief is fetched from the case service of the owning node (an adapter, not this module) when
the agenda is built and refreshed on request. It carries what the conference needs to decide and
nothing that names the person. Identity fields exist only inside `DisclosedIdentity`, which
cannot be built without the consent that allows it; `for_conference` drops the identity again
unless that consent covers exactly this koordinierende Stelle, the purpose "fallkonferenz" and
the conference day. So a Fallkonferenz record never holds an identity its consent does not cover.

The owning node names in each brief the organisations whose Fallkonferenz consent covers it on
the day (`covered_orgs`); a participant of any other organisation than those and the owner sees
the agenda item without the brief (`visible_to`, `WITHHELD`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from kimnetz.validation import Violations
from services.conference.domain.vocabulary import AgeBand, CaseStatus, Handlungsfeld, Rechtskreis

#: The consent purpose (case service vocabulary) that lets a person be named in a Fallkonferenz.
FALLKONFERENZ_PURPOSE = "fallkonferenz"
#: What a participant of an organisation the consent does not cover reads instead of the brief.
WITHHELD = "Die Einwilligung umfasst die Weitergabe an Ihre Organisation nicht."


@dataclass(frozen=True)
class ConsentCoverage:
    """The recorded consent (Einwilligung / Schweigepflichtentbindung) identity rests on."""

    consent_id: str
    recipient_org: str
    purposes: frozenset[str]
    expires_on: date | None = None

    def covers(self, organisation: str, on: date) -> bool:
        return (
            self.recipient_org == organisation
            and FALLKONFERENZ_PURPOSE in self.purposes
            and (self.expires_on is None or on <= self.expires_on)
        )


@dataclass(frozen=True)
class DisclosedIdentity:
    given_name: str
    family_name: str
    consent: ConsentCoverage
    birth_date: date | None = None

    def __post_init__(self) -> None:
        v = Violations()
        v.text("identity.consent.consent_id", self.consent.consent_id, max_len=500)
        v.text("identity.family_name", self.family_name, max_len=200)
        v.raise_if_any("Personenangaben nur mit Bezug auf eine Einwilligung.")


@dataclass(frozen=True)
class CaseBrief:
    case_id: str
    pseudonym: str
    owner_node: str
    owner_org: str
    coordination_org: str
    status: CaseStatus
    age_band: AgeBand | None  # None only once the details are erased
    fetched_at: datetime
    zielgruppe: str = ""
    handlungsfelder: tuple[Handlungsfeld, ...] = ()
    rechtskreise: tuple[Rechtskreis, ...] = ()
    case_manager: str = ""
    case_manager_org: str = ""
    proposed_on: date | None = None
    review_due_on: date | None = None
    identity: DisclosedIdentity | None = None
    #: When the person revoked the consent after the decision was taken: what describes the case
    #: is gone, the pseudonym stays as the reference of the decision (docs/conference.md).
    erased_at: datetime | None = None
    #: The organisations (besides the owner) whose Fallkonferenz consent covered the brief on the
    #: day the owning node released it. None: stored before briefs named them; such a brief was
    #: released to the koordinierende Stelle under its consent, so it counts for that Stelle only.
    covered_orgs: tuple[str, ...] | None = None

    @property
    def covered_for(self) -> tuple[str, ...]:
        """The organisations besides the owner that may see this brief."""
        return self.covered_orgs if self.covered_orgs is not None else (self.coordination_org,)

    def visible_to(self, organisation: str | None) -> bool:
        """Whether a participant of `organisation` may see this brief: the owner's own, or one a
        consent covers for that organisation."""
        return bool(organisation) and (organisation == self.owner_org or organisation in self.covered_for)

    def without_coverage_for(self, organisation: str) -> CaseBrief:
        """This brief once the consent that covered it for `organisation` is revoked: that
        organisation's participants no longer see it (the owner's own and the stored details
        stay as they are)."""
        return replace(self, covered_orgs=tuple(o for o in self.covered_for if o != organisation))

    def __post_init__(self) -> None:
        v = Violations()
        v.text("brief.case_id", self.case_id, max_len=100)
        v.text("brief.pseudonym", self.pseudonym, max_len=100)
        v.text("brief.owner_node", self.owner_node, max_len=100)
        v.text("brief.owner_org", self.owner_org, max_len=100)
        v.raise_if_any("Die Kurzinformation zum Fall ist unvollständig.")

    def for_conference(self, organisation: str, on: date) -> CaseBrief:
        """This brief as the Fallkonferenz of `organisation` on `on` may hold it."""
        if self.identity is None or self.identity.consent.covers(organisation, on):
            return self
        return replace(self, identity=None)

    def erased(self, now: datetime) -> CaseBrief:
        """This brief without its details: only what names the decision's case (id, pseudonym,
        owning node and organisation, koordinierende Stelle) and its status stay."""
        return CaseBrief(
            case_id=self.case_id,
            pseudonym=self.pseudonym,
            owner_node=self.owner_node,
            owner_org=self.owner_org,
            coordination_org=self.coordination_org,
            status=self.status,
            age_band=None,
            fetched_at=self.fetched_at,
            erased_at=self.erased_at or now,
            covered_orgs=self.covered_orgs,
        )

    @property
    def is_review_candidate(self) -> bool:
        return self.status is CaseStatus.ACTIVE

    @property
    def is_proposal(self) -> bool:
        # Only a submitted Fallvorschlag: the case manager hands it to the koordinierende Stelle
        # with the person's consent (proposed -> in_review), and the case service applies a
        # decision to nothing else. A decision on a merely drafted proposal would be refused.
        return self.status is CaseStatus.IN_REVIEW

    @property
    def is_unsubmitted_proposal(self) -> bool:
        return self.status is CaseStatus.PROPOSED
