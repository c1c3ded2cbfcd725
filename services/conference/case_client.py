"""gRPC adapter of the `CaseBriefs` port: the case service's `kim.case.v1.CaseService` api.

Whose token: the CALLER's. The coordinator who builds the agenda is the person who reads the
briefs, so the case service decides by that person's organisation and roles (a coordinator of
the koordinierende Stelle sees exactly the cases shared with it) and its audit trail names that
person, not a technical account. A node service account would read every case and hide who
read it; it belongs to the cross-node call of the federation issue (mutual TLS plus the
service-account token), which will be a second adapter behind the same port.

The case brief of kim.case.v1 carries no koordinierende Stelle: the case service lists only
cases shared with the caller's organisation, so a brief returned for the coordinator's query
is taken as addressed to that Stelle. It sends its age band as the German label; the bands are
the same as the conference's (`AgeBand`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import grpc

from kim.case.v1 import case_pb2, case_pb2_grpc
from kim.common.v1 import types_pb2 as common
from kimnetz import errors
from kimnetz.runtime.proto_mapping import from_proto_date, from_proto_member, to_proto_date
from services.conference.cases import AgendaCandidates, CaseBriefs
from services.conference.domain.briefs import CaseBrief
from services.conference.domain.vocabulary import AgeBand, CaseStatus, Handlungsfeld, Rechtskreis

#: Purpose the case service writes to its audit trail for these reads.
PURPOSE = "Fallkonferenz"
PAGE_SIZE = 100
TIMEOUT_SECONDS = 15.0

AGE_BANDS = {
    "unter 18": AgeBand.UNDER_18,
    "18 bis 27": AgeBand.FROM_18_TO_27,
    "28 bis 39": AgeBand.FROM_28_TO_39,
    "40 bis 64": AgeBand.FROM_40_TO_64,
    "65 und älter": AgeBand.FROM_65,
}

_ERRORS: dict[grpc.StatusCode, type[errors.KimError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
}


class GrpcCaseBriefs(CaseBriefs):
    """One call's view of the case service of `owner_node`, as the holder of `bearer_token`."""

    def __init__(self, channel: grpc.Channel, bearer_token: str, owner_node: str) -> None:
        self._stub = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = (("authorization", f"Bearer {bearer_token}"),)
        self._owner_node = owner_node

    def agenda_candidates(self, coordination_org: str, reviews_due_by: date) -> AgendaCandidates:
        # Submitted proposals only: the case service decides nothing that is still `proposed`.
        proposals = self._list(coordination_org, [common.CASE_STATUS_IN_REVIEW], None)
        reviews = self._list(coordination_org, [common.CASE_STATUS_ACTIVE], reviews_due_by)
        return AgendaCandidates([*proposals, *reviews])

    def brief(self, case_id: str, coordination_org: str, owner_node: str = "") -> CaseBrief:
        request = case_pb2.GetCaseBriefRequest(case_id=case_id, purpose=PURPOSE)
        return self._brief(self._call("GetCaseBrief", request), coordination_org)

    def _list(
        self, coordination_org: str, statuses: list[common.CaseStatus], review_due_by: date | None
    ) -> list[CaseBrief]:
        return [self._brief(m, coordination_org) for m in self._pages(statuses, review_due_by)]

    def _pages(
        self, statuses: list[common.CaseStatus], review_due_by: date | None
    ) -> Iterator[case_pb2.CaseBrief]:
        token = ""
        while True:
            request = case_pb2.ListCasesRequest(
                statuses=statuses, page_size=PAGE_SIZE, page_token=token, purpose=PURPOSE,
                review_due_by=to_proto_date(review_due_by),
            )
            response = self._call("ListCases", request)
            yield from response.cases
            token = response.next_page_token
            if not token:
                return

    def _call(self, method: str, request: object) -> Any:
        try:
            return getattr(self._stub, method)(request, metadata=self._metadata, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            code = error.code()
            details = error.details() or ""
            kind = _ERRORS.get(code)
            if kind is not None:
                raise kind(details or "Der Fall-Dienst hat die Anfrage abgelehnt.") from error
            raise errors.Unavailable(
                f"Der Fall-Dienst ist nicht erreichbar ({code.name}); bitte später erneut versuchen."
            ) from error

    def _brief(self, m: case_pb2.CaseBrief, coordination_org: str) -> CaseBrief:
        return brief_from_message(m, owner_node=self._owner_node, coordination_org=coordination_org)


def brief_from_message(
    m: case_pb2.CaseBrief, *, owner_node: str, coordination_org: str, proposed_on: date | None = None
) -> CaseBrief:
    """The domain brief of a `kim.case.v1.CaseBrief` that `owner_node` answered for the
    Fallkonferenz of `coordination_org`. Raises Unavailable for a value this node cannot read."""
    try:
        return CaseBrief(
            case_id=m.case_id,
            pseudonym=m.pseudonym,
            owner_node=owner_node,
            owner_org=m.owner_org,
            coordination_org=coordination_org,
            status=from_proto_member(common.CaseStatus, CaseStatus, m.status),
            age_band=_age_band(m),
            fetched_at=datetime.now(UTC),
            zielgruppe=m.zielgruppe,
            handlungsfelder=tuple(
                from_proto_member(common.Handlungsfeld, Handlungsfeld, h) for h in m.handlungsfelder
            ),
            rechtskreise=tuple(from_proto_member(common.Rechtskreis, Rechtskreis, r) for r in m.rechtskreise),
            proposed_on=proposed_on,
            review_due_on=from_proto_date(m.next_review_due, m.HasField("next_review_due")),
            covered_orgs=_covered(m, coordination_org),
        )
    except (KeyError, ValueError, errors.InvalidArgument) as error:  # unreadable or incomplete
        raise errors.Unavailable(
            f"Der Fall-Dienst von {owner_node} meldet zu {m.pseudonym or m.case_id} einen "
            f"unbekannten Wert ({error}); die Kurzinformation kann nicht übernommen werden."
        ) from error


def _covered(m: case_pb2.CaseBrief, coordination_org: str) -> tuple[str, ...]:
    """The organisations the owning node's consent gate covers for this brief. The owner released
    it to `coordination_org` (its gate answers nothing else to the Stelle's coordinator or node),
    so that Stelle counts as covered even where an owner of an older version names no one."""
    named = {*m.covered_orgs, coordination_org} - {m.owner_org}
    return tuple(sorted(named))


def _age_band(m: case_pb2.CaseBrief) -> AgeBand:
    try:
        return AGE_BANDS[m.age_band]
    except KeyError:
        # A band this node does not know would be guessed wrong: better no agenda than that.
        raise errors.Unavailable(
            f"Der Fall-Dienst meldet zu {m.pseudonym} die unbekannte Altersgruppe „{m.age_band}“."
        ) from None
