"""What the conference's application services need from storage: one repository Protocol per
aggregate (or registry), and the page they list in.

Pure typing, no framework: the mongoengine adapter (services/conference/repository.py,
`MongoConferenceRepository`) implements every Protocol here, and so does the in-memory fake the
unit tests use (tests/support/fakes/conference.py); one contract test runs the same cases
against both (tests/integration/conference/test_conference_repository_contract.py). Each
application service takes only the Protocols it uses.

Rules every implementation keeps (the contract test pins them down):

- A save writes the aggregate with its pending `events` (cleared on success) as one write. A new
  aggregate (not loaded through this repository) whose id, or a unique field, is taken raises
  `AlreadyExists`; saving a loaded aggregate whose version another save took since it was loaded
  raises `VersionConflict` (a `FailedPrecondition`). Either way nothing is written.
- A load of an unknown id raises `NotFound` with a German message (erasures: None).
- Loads return independent copies: changing a loaded aggregate changes nothing stored.
- Lists come in pages of `page_size` (0: `DEFAULT_PAGE_SIZE`, at most `MAX_PAGE_SIZE`); a
  non-empty `next_page_token` fetches the next page; a malformed token is `InvalidArgument`.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Protocol, TypeVar

from kimnetz.errors import FieldViolation, InvalidArgument
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.projektgruppe import BarrierObservation, Projektgruppe
from services.conference.domain.proposals import Erasure, Proposal
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import BeschlussStatus, ConferenceStatus

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Page(list[T]):
    """One page of a list; `next_page_token` is empty on the last page."""

    next_page_token: str = ""


def page_size(requested: int) -> int:
    """The size of a page: `DEFAULT_PAGE_SIZE` for 0 (or less), at most `MAX_PAGE_SIZE`."""
    return DEFAULT_PAGE_SIZE if requested <= 0 else min(requested, MAX_PAGE_SIZE)


def page_offset(token: str) -> int:
    """Where the page of `token` starts ("" : the first page)."""
    if not token:
        return 0
    try:
        return max(int(base64.urlsafe_b64decode(token.encode()).decode()), 0)
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument([FieldViolation("page_token", "Ungültiges Seitentoken.")]) from None


def page_token(offset: int) -> str:
    """The token of the page that starts at `offset`."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def page_of(items: list[T], size: int, start: int) -> Page[T]:
    """A page from up to `size + 1` items read from `start`: one more than fits says that a next
    page exists."""
    page: Page[T] = Page(items[:size])
    if len(items) > size:
        page.next_page_token = page_token(start + size)
    return page


class FallkonferenzRepository(Protocol):
    """Fallkonferenzen, listed per koordinierende Stelle, latest start first (then by id)."""

    def save_conference(self, conference: Fallkonferenz) -> None: ...

    def conference(self, conference_id: str) -> Fallkonferenz: ...

    def conferences(
        self, coordination_org: str, *, status: ConferenceStatus | None = None, page_size: int = 0,
        page_token: str = "",
    ) -> Page[Fallkonferenz]: ...

    def conference_ids_with_case(self, case_id: str) -> list[str]:
        """The conferences (any status) whose agenda has the case."""
        ...

    def decided_at(self, coordination_org: str, case_ids: list[str]) -> dict[str, datetime]:
        """Case id -> the time of its latest decision in a Fallkonferenz of `coordination_org`."""
        ...

    def admitted(self, coordination_org: str, case_ids: list[str]) -> set[str]:
        """The cases a Fallkonferenz of `coordination_org` admitted into case management (an
        admission on some agenda): they come back each quarter for their review."""
        ...

    def conferences_with_participant(
        self, person: str, organisation: str, *, status: ConferenceStatus | None = None,
        page_size: int = 0, page_token: str = "",
    ) -> Page[Fallkonferenz]:
        """The conferences (of any koordinierende Stelle) that invite `person` of `organisation`
        (`Fallkonferenz.is_participant`), latest start first (then by id)."""
        ...


class LenkungsgruppeRepository(Protocol):
    def save_gremium(self, gremium: Lenkungsgruppe) -> None: ...

    def gremium(self, gremium_id: str) -> Lenkungsgruppe: ...

    def gremien(
        self, coordination_org: str, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Lenkungsgruppe]:
        """The Lenkungsgruppen of `coordination_org`, by id."""
        ...


class SitzungRepository(Protocol):
    """Sessions, listed per Lenkungsgruppe, latest start first (then by id)."""

    def save_session(self, session: Sitzung) -> None: ...

    def session(self, session_id: str) -> Sitzung: ...

    def sessions(self, gremium_id: str, *, page_size: int = 0, page_token: str = "") -> Page[Sitzung]: ...


class BeschlussRepository(Protocol):
    """Beschlüsse, listed per Lenkungsgruppe by due date (then by id). A "Zielgruppen
    festlegen" Beschluss claims its catalogue version per koordinierende Stelle: a second
    Beschluss with the same version there is `AlreadyExists`."""

    def save_beschluss(self, beschluss: Beschluss) -> None: ...

    def beschluss(self, beschluss_id: str) -> Beschluss: ...

    def beschluesse(
        self, gremium_id: str, *, statuses: list[BeschlussStatus] | None = None,
        responsible_person: str = "", responsible_org: str = "", page_size: int = 0,
        page_token: str = "",
    ) -> Page[Beschluss]:
        """`responsible_org` matches the Beschluss's responsible organisation, or its
        koordinierende Stelle where none is named."""
        ...

    def overdue_beschluesse(
        self, gremium_id: str, on: date, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Beschluss]:
        """Still open or in Umsetzung, due before `on`."""
        ...

    def overdue_beschluss_ids(self, on: date, *, limit: int = MAX_PAGE_SIZE) -> list[str]:
        """Overdue on `on` in any Lenkungsgruppe, and not yet reminded for their due date."""
        ...

    def latest_zielgruppen_version(self, coordination_org: str) -> int | None:
        """The highest Zielgruppen version any Lenkungsgruppe of `coordination_org` adopted."""
        ...


class ProjektgruppeRepository(Protocol):
    """Projektgruppen, listed per koordinierende Stelle by id."""

    def save_projektgruppe(self, group: Projektgruppe) -> None: ...

    def projektgruppe(self, projektgruppe_id: str) -> Projektgruppe: ...

    def projektgruppen(
        self, coordination_org: str, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Projektgruppe]: ...


class BarrierRepository(Protocol):
    """The anonymised barrier observations of a koordinierende Stelle, one per barrier id."""

    def record_barrier(self, coordination_org: str, observation: BarrierObservation) -> bool:
        """False when the barrier is already recorded (a redelivered event); nothing changes."""
        ...

    def barrier_observations(self, coordination_org: str) -> list[BarrierObservation]: ...


class ProposalRepository(Protocol):
    """The registry of Fallvorschläge: one entry per submission (`proposal_id`), never updated."""

    def record_proposal(self, proposal: Proposal) -> bool:
        """False when this submission is registered already (a redelivered event)."""
        ...

    def proposals(self, coordination_org: str, *, other_than_node: str = "") -> list[Proposal]: ...

    def proposals_of_case(self, case_id: str) -> list[Proposal]: ...

    def delete_proposals(self, case_id: str) -> int: ...


class ErasureRepository(Protocol):
    """Erase requests, one per case and revoked consent (`Erasure.id_for`)."""

    def erasure(self, erasure_id: str) -> Erasure | None: ...

    def save_erasure(self, erasure: Erasure) -> None: ...

    def erased(self, case_id: str, consent_id: str) -> bool:
        """Whether an erase request for the case under the consent was counted."""
        ...


class ConferenceRepository(
    FallkonferenzRepository, LenkungsgruppeRepository, SitzungRepository, BeschlussRepository,
    ProjektgruppeRepository, BarrierRepository, ProposalRepository, ErasureRepository, Protocol,
):
    """All of the conference service's storage, as one adapter provides it."""
