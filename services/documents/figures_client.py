"""gRPC adapter of the `CaseFigures` port: kim.case.v1.CaseService.GetFigures.

Whose token: the CALLER's, as for the conference service (conference_client.py): the case
service decides by the caller's organisation and roles who reads the figures (another
organisation's coordinator is refused there) and its audit trail names that person. Only the
generated contract is imported, never the case service's code.

Runs in the api process (plain threads), never in the nameko worker (ARCHITECTURE, "Process
model").
"""

from __future__ import annotations

from typing import Any

import grpc

from kim.case.v1 import case_pb2 as pb, case_pb2_grpc
from kimnetz import errors
from kimnetz.runtime.proto_mapping import UnknownEnumValue, from_proto_date, member_name, to_proto_date
from services.documents.domain.figures import FigureBreakdown, PeriodRecord
from services.documents.figures import (
    CaseFiguresRecord,
    FigureCell,
    FigureTable,
    MeanDuration,
    ReportPeriod,
)

TIMEOUT_SECONDS = 15.0

_ERRORS: dict[grpc.StatusCode, type[errors.KimError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
}


class GrpcCaseFigures:
    """One call's view of the case service's figures, as the holder of `bearer_token`."""

    def __init__(self, channel: grpc.Channel, bearer_token: str) -> None:
        self._stub = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = (("authorization", f"Bearer {bearer_token}"),)

    def figures(self, period: ReportPeriod | None = None) -> CaseFiguresRecord:
        try:
            m = self._stub.GetFigures(figures_request(period), metadata=self._metadata,
                                      timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            code = error.code()
            kind = _ERRORS.get(code)
            if kind is not None:
                raise kind(error.details() or "Der Falldienst hat die Anfrage abgelehnt.") from error
            raise errors.Unavailable(
                f"Der Falldienst ist nicht erreichbar ({code.name}); bitte später erneut versuchen."
            ) from error
        return figures_record(m)


def figures_request(period: ReportPeriod | None) -> pb.GetFiguresRequest:
    """GetFigures for a Berichtszeitraum (None: the case service's default, the year to today)."""
    if period is None:
        return pb.GetFiguresRequest()
    return pb.GetFiguresRequest(period_from=to_proto_date(period.start), period_to=to_proto_date(period.end))


def figures_record(m: Any) -> CaseFiguresRecord:
    """A kim.case.v1.Figures message (of this node or of a peer node) as plain values."""
    return CaseFiguresRecord(
        period=_period(m.period) if m.HasField("period") else None,
        by_status=_table(m.by_status), by_zielgruppe=_table(m.by_zielgruppe),
        by_handlungsfeld=_table(m.by_handlungsfeld), by_goal_outcome=_table(m.by_goal_outcome),
        by_barrier_category=_table(m.by_barrier_category),
        days_to_decision=_duration(m.days_to_decision), days_open=_duration(m.days_open),
        zielgruppen_version=m.zielgruppen_version, suppression_note=m.suppression_note,
    )


def _cell(m: Any) -> FigureCell:
    # A visibility this node's contract does not know is treated as suppressed: never print a
    # count the case service did not say may be shown.
    visibility = _visibility(m.visibility)
    return FigureCell(key=m.key, label=m.label, visibility=visibility,
                      count=int(m.count) if visibility == "shown" else None)


def _visibility(number: int) -> str:
    try:
        name = member_name(pb.FigureVisibility, number)
    except UnknownEnumValue:
        return "suppressed"
    return (name or "suppressed").lower()


def _table(m: Any) -> FigureTable:
    return FigureTable(cells=tuple(_cell(c) for c in m.cells), total=_cell(m.total))


def _period(m: Any) -> PeriodRecord:
    start, end = from_proto_date(m.period_from), from_proto_date(m.period_to)
    if start is None or end is None:
        raise errors.Unavailable("Der Falldienst hat Zahlen ohne Berichtszeitraum geliefert.")
    return PeriodRecord(
        start=start, end=end, movements=_table(m.movements), referred_by_target=_table(m.referred_by_target),
        closed_by_reason=_table(m.closed_by_reason), stock_by_status=_table(m.stock_by_status),
        admitted=tuple(FigureBreakdown(b.dimension, b.title, _table(b.table)) for b in m.admitted),
        note=m.note)


def _duration(m: Any) -> MeanDuration:
    return MeanDuration(float(m.mean_days) if m.visibility == pb.FIGURE_VISIBILITY_SHOWN else None)
