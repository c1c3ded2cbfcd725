"""The Kreis' registry of Fallvorschläge from the federation, and the erasure of a case's data
when the person revokes the consent the koordinierende Stelle held it under.

A `Proposal` is what a `kim.case.v1.CaseSubmittedForReview` event carries (local or from a
Kommune/Träger node over event federation): pseudonym, owning node and organisation, consent
reference and the pseudonymised brief fields at submission, never personal data. It is recorded
once per submission (`proposal_id` = case id + submission time): a redelivered event is the same
submission, a case submitted again after a Zurückstellung is a new one. The agenda asks the
owning node for a fresh brief of every open proposal (`open_proposals`).

An `Erasure` answers one revocation (`kim.case.v1.ConsentRevoked` addressed to this Stelle) once:
its counts are taken before anything is erased, so a redelivered request that finds the data gone
still confirms what was erased, and it publishes `CaseDataErased` when it is confirmed.
Framework-free: stdlib and `kimnetz.errors` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kimnetz.errors import FailedPrecondition
from kimnetz.validation import Violations
from services.conference.domain import events as ev
from services.conference.domain.vocabulary import AgeBand, Handlungsfeld, Rechtskreis


@dataclass(frozen=True)
class Proposal:
    case_id: str
    owner_node: str
    owner_org: str
    coordination_org: str
    pseudonym: str
    consent_id: str
    submitted_at: datetime
    received_at: datetime
    zielgruppe: str = ""
    zielgruppen_version: int = 0
    handlungsfelder: tuple[Handlungsfeld, ...] = ()
    rechtskreise: tuple[Rechtskreis, ...] = ()
    age_band: AgeBand | None = None
    received_as_umf: bool = False

    def __post_init__(self) -> None:
        v = Violations()
        v.text("case_id", self.case_id, max_len=100)
        v.text("owner_node", self.owner_node, max_len=100)
        v.text("owner_org", self.owner_org, max_len=100)
        v.text("coordination_org", self.coordination_org, max_len=100)
        v.text("pseudonym", self.pseudonym, max_len=100)
        v.raise_if_any("Der Fallvorschlag ist unvollständig.")

    @property
    def proposal_id(self) -> str:
        return f"{self.case_id}@{self.submitted_at.isoformat()}"


def open_proposals(
    proposals: Iterable[Proposal], decided_at: Mapping[str, datetime]
) -> list[Proposal]:
    """The newest submission of each case, unless the Fallkonferenz decided about the case at or
    after that submission (`decided_at`: case id -> time of its latest decision here). Oldest
    submission first."""
    newest: dict[str, Proposal] = {}
    for p in proposals:
        if p.case_id not in newest or p.submitted_at > newest[p.case_id].submitted_at:
            newest[p.case_id] = p
    undecided = [
        p for p in newest.values()
        if p.case_id not in decided_at or decided_at[p.case_id] < p.submitted_at
    ]
    return sorted(undecided, key=lambda p: (p.submitted_at, p.case_id))


def admitted_proposals(
    proposals: Iterable[Proposal], decided_at: Mapping[str, datetime], admitted: Iterable[str]
) -> list[Proposal]:
    """The newest submission of each case this Stelle admitted into case management after it
    (`admitted`: case ids with an admission here): the case stays with the Stelle's Fallkonferenz
    for its quarterly reviews (Borken), so its owner is asked for a fresh brief at every agenda;
    whether a review is due is the agenda's rule. Oldest submission first."""
    newest: dict[str, Proposal] = {}
    for p in proposals:
        if p.case_id not in newest or p.submitted_at > newest[p.case_id].submitted_at:
            newest[p.case_id] = p
    wanted = set(admitted)
    followed = [
        p for p in newest.values()
        if p.case_id in wanted and p.case_id in decided_at and decided_at[p.case_id] >= p.submitted_at
    ]
    return sorted(followed, key=lambda p: (p.submitted_at, p.case_id))


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"


@dataclass
class Erasure:
    """One erase request: `coordination_org` is this node's organisation (who erases)."""

    erasure_id: str
    case_id: str
    pseudonym: str
    owner_node: str
    owner_org: str
    consent_id: str
    coordination_org: str
    erased_by_node: str
    requested_at: datetime
    proposals: int = 0
    withdrawn: int = 0
    details_erased: int = 0
    kept_in_records: int = 0
    conference_ids: tuple[str, ...] = ()
    confirmed_at: datetime | None = None
    #: Set when the revoked consent named a participant organisation this node hosts (the ABH
    #: without a node of its own), not this Stelle: the briefs covered for it are withheld from
    #: its participants (`withheld`), and the confirmation names that organisation.
    erased_for_org: str = ""
    withheld: int = 0
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)

    @staticmethod
    def id_for(case_id: str, consent_id: str) -> str:
        # Per revocation, not per delivery: the owner may publish the same request twice.
        return f"{case_id}:{consent_id}"

    @property
    def summary(self) -> str:
        """German, for the owner's case file."""
        erased = []
        if self.proposals:
            erased.append(_count(self.proposals, "Fallvorschlag", "Fallvorschläge"))
        briefs = self.withdrawn + self.details_erased
        if briefs:
            erased.append(_count(briefs, "Kurzinformation", "Kurzinformationen"))
        if self.erased_for_org:
            if not self.withheld:
                return (f"Keine Kurzinformation des Falls für {self.erased_for_org} freigegeben; "
                        "nichts zu sperren.")
            return (f"{_count(self.withheld, 'Kurzinformation', 'Kurzinformationen')} in der "
                    f"Fallkonferenz für {self.erased_for_org} gesperrt; die Teilnehmenden dieser "
                    "Organisation sehen sie nicht mehr.")
        if erased:
            text = f"{' und '.join(erased)} gelöscht"
        else:
            text = "Keine Daten des Falls unter dieser Einwilligung gespeichert; nichts zu löschen"
        if self.details_erased:
            text += (
                "; zu "
                + _count(self.details_erased, "bereits getroffenen Entscheidung",
                         "bereits getroffenen Entscheidungen")
                + " bleiben Pseudonym und Entscheidung erhalten"
            )
        if self.kept_in_records:
            text += (
                "; im Protokoll "
                + ("einer abgeschlossenen Fallkonferenz" if self.kept_in_records == 1
                   else f"von {self.kept_in_records} abgeschlossenen Fallkonferenzen")
                + " bleibt der Fall mit Pseudonym und Entscheidung unverändert"
            )
        return text + "."

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def confirm(self, now: datetime) -> None:
        """Everything counted is erased: the answer to the owning node leaves once."""
        if self.confirmed_at is not None:
            raise FailedPrecondition("Die Löschung ist bereits bestätigt.")
        self.confirmed_at = now
        self.events.append(
            ev.CaseDataErased(
                occurred_at=now,
                case_id=self.case_id,
                pseudonym=self.pseudonym,
                owner_node=self.owner_node,
                owner_org=self.owner_org,
                consent_id=self.consent_id,
                erased_by_node=self.erased_by_node,
                erased_by_org=self.erased_for_org or self.coordination_org,
                summary=self.summary,
            )
        )
