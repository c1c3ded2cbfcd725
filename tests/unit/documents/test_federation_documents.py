"""The federation's figures in documents: whose figures are read (services/documents/federated.py,
with hand-written fakes of the own case service and of the federation), and how a Monitoringbericht
and a Drucksache print them (services/documents/inputs/, the built-in templates): contributing
nodes with their Stand, the nodes not reached, the marks and their footnotes."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable
from services.documents.domain.federation import CombinedFigures
from services.documents.domain.kinds import DRUCKSACHE, MONITORING
from services.documents.federated import AUTO, FEDERATION, NODE, read_figures
from services.documents.figures import CaseFiguresRecord, PeerNode, ReportPeriod
from services.documents.inputs.drucksache_figures import drucksache_with_figures, federation_paragraphs
from services.documents.inputs.monitoringbericht import ReportOptions, federation_monitoring_input
from tests.unit.documents.documents_factories import body_text, make_drucksache, render_builtin
from tests.unit.documents.test_figures_inputs import figures, shown, small, table

BERLIN_SUMMER = timezone(timedelta(hours=2))
NOW = datetime(2026, 5, 12, 9, 15, tzinfo=BERLIN_SUMMER)
STAND = date(2026, 5, 12)
KREIS = PeerNode("kreis-mettmann", "kreis-mettmann", "district")
HILDEN = PeerNode("stadt-hilden", "stadt-hilden", "municipality")
CARITAS = PeerNode("caritas-mettmann", "caritas-mettmann", "welfare_org")


class OwnCaseService:
    def __init__(self, record: CaseFiguresRecord | Exception) -> None:
        self.record = record
        self.reads = 0

    def figures(self, period: ReportPeriod | None = None) -> CaseFiguresRecord:
        self.reads += 1
        if isinstance(self.record, Exception):
            raise self.record
        return self.record


class Federation:
    """The federation as the Kreis' node sees it: per node a record or the error its call raises."""

    def __init__(self, nodes: list[PeerNode], answers: dict[str, CaseFiguresRecord | Exception],
                 me: PeerNode = KREIS, directory_error: Exception | None = None) -> None:
        self.keeps_directory = me.role == "district"
        self._nodes = nodes
        self.answers = answers
        self.me = me
        self.directory_error = directory_error
        self.asked: list[tuple[str, str]] = []
        self.directory_reads = 0
        self._lock = threading.Lock()

    @property
    def node_id(self) -> str:
        return self.me.node_id

    @property
    def organization(self) -> str:
        return self.me.organization

    def nodes(self) -> list[PeerNode]:
        self.directory_reads += 1
        if self.directory_error is not None:
            raise self.directory_error
        return list(self._nodes)

    def figures(self, node_id: str, acting_user: str,
                period: ReportPeriod | None = None) -> CaseFiguresRecord:
        with self._lock:
            self.asked.append((node_id, acting_user))
        answer = self.answers[node_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def peer_record(active: int = 40) -> CaseFiguresRecord:
    """A Kommune's figures: `active` + 3 cases, the 3 closed ones suppressed."""
    total = shown("total", "Summe", active + 3)
    return figures(
        by_status=table(shown("active", "aktiv", active), small("closed", "abgeschlossen"), total=total),
        by_zielgruppe=table(
            shown("geduldete_gestattete_ueber_27", "Geduldete und Gestattete über 27", active),
            small("", "keine Zielgruppe"), total=total))


def read(own: OwnCaseService, peers: Federation | None, scope: str = AUTO) -> Any:
    return read_figures(own, peers, scope, acting_user="koord.kreis", now=lambda: NOW)


# --- whose figures ------------------------------------------------------------------------------

def test_on_the_kreis_node_every_other_active_node_is_asked_on_behalf_of_the_caller() -> None:
    own = OwnCaseService(figures())
    federation = Federation([KREIS, HILDEN, CARITAS], {"stadt-hilden": peer_record(),
                                                       "caritas-mettmann": peer_record(7)})
    combined = read(own, federation)
    assert isinstance(combined, CombinedFigures)
    assert sorted(federation.asked) == [("caritas-mettmann", "koord.kreis"), ("stadt-hilden", "koord.kreis")]
    assert [n.source.node_id for n in combined.sources] == [
        "kreis-mettmann", "stadt-hilden", "caritas-mettmann"]
    assert combined.by_status.cell("active").printed == "1.281"  # type: ignore[union-attr]
    assert own.reads == 1 and combined.missing == ()


def test_an_unreachable_or_refusing_node_is_a_named_gap_never_a_failure() -> None:
    federation = Federation([KREIS, HILDEN, CARITAS], {
        "stadt-hilden": Unavailable("Der Knoten stadt-hilden ist nicht erreichbar."),
        "caritas-mettmann": PermissionDenied("Der Knoten caritas-mettmann hat den Aufruf abgelehnt."),
    })
    combined = read(OwnCaseService(figures()), federation)
    assert [(m.source.node_id, m.reason) for m in combined.missing] == [
        ("stadt-hilden", "nicht erreichbar"), ("caritas-mettmann", "nicht erreichbar")]
    assert [n.source.node_id for n in combined.sources] == ["kreis-mettmann"]


def test_any_failure_of_a_peer_node_is_a_gap_and_unknown_statuses_are_not_read() -> None:
    newer = figures(by_status=table(shown("active", "aktiv", 9), shown("paused", "ruhend", 6),
                                    total=shown("total", "Summe", 15)))
    federation = Federation([KREIS, HILDEN, CARITAS], {"stadt-hilden": RuntimeError("bad certificate"),
                                                       "caritas-mettmann": newer})
    combined = read(OwnCaseService(figures()), federation)
    assert [(m.source.node_id, m.reason) for m in combined.missing] == [
        ("stadt-hilden", "nicht erreichbar"),
        ("caritas-mettmann", "Angaben in einer neueren Fassung, hier nicht lesbar")]
    assert combined.by_status.cell("paused") is None


def test_a_caller_refused_by_the_own_case_service_causes_no_call_to_any_node() -> None:
    federation = Federation([KREIS, HILDEN], {"stadt-hilden": peer_record()})
    with pytest.raises(PermissionDenied):
        read(OwnCaseService(PermissionDenied("Kein Zugriff auf Fallzahlen.")), federation, FEDERATION)
    assert federation.asked == [] and federation.directory_reads == 0


def test_node_scope_reads_only_the_own_figures() -> None:
    federation = Federation([KREIS, HILDEN], {"stadt-hilden": peer_record()})
    record = read(OwnCaseService(figures()), federation, NODE)
    assert isinstance(record, CaseFiguresRecord)
    assert federation.asked == [] and federation.directory_reads == 0


def test_off_the_kreis_node_the_default_is_the_own_figures_and_the_federation_is_refused() -> None:
    hilden_node = Federation([KREIS, HILDEN], {"kreis-mettmann": peer_record()}, me=HILDEN)
    assert isinstance(read(OwnCaseService(figures()), hilden_node), CaseFiguresRecord)
    with pytest.raises(FailedPrecondition) as refused:
        read(OwnCaseService(figures()), hilden_node, FEDERATION)
    assert "nur auf dem Knoten des Kreises" in refused.value.message
    assert hilden_node.asked == []


def test_without_a_federation_the_default_is_the_own_figures_and_the_federation_is_refused() -> None:
    assert isinstance(read(OwnCaseService(figures()), None), CaseFiguresRecord)
    own = OwnCaseService(figures())
    with pytest.raises(FailedPrecondition) as refused:
        read(own, None, FEDERATION)
    assert "keinem KIM-Verbund" in refused.value.message and own.reads == 0


def test_an_unreadable_directory_fails_the_kreis_render_with_a_german_reason() -> None:
    federation = Federation([], {}, directory_error=PermissionDenied("Verzeichnis lehnt ab"))
    with pytest.raises(Unavailable) as away:
        read(OwnCaseService(figures()), federation)
    assert "Knotenverzeichnis" in away.value.message


def test_a_kommune_renders_its_own_figures_while_the_kreis_directory_is_away() -> None:
    hilden_node = Federation([], {}, me=HILDEN, directory_error=Unavailable("Kreis weg"))
    assert isinstance(read(OwnCaseService(figures()), hilden_node), CaseFiguresRecord)
    with pytest.raises(Unavailable):
        read(OwnCaseService(figures()), hilden_node, FEDERATION)


@pytest.mark.parametrize("bad", ["viele", -1, True, "mind. viele", 2.5])
def test_a_wrong_figure_gets_one_german_message(bad: object) -> None:
    data = federation_monitoring_input(federation_figures(), options())
    data["barriers_by_category"] = [{"label": "Wartezeit", "count": bad}]
    with pytest.raises(InvalidArgument) as caught:
        MONITORING.prepare(data)
    found = {v.field: v.description for v in caught.value.violations}
    assert list(found) == ["barriers_by_category[0].count"]
    assert found["barriers_by_category[0].count"] in (
        "Fallzahlen können nicht negativ sein.",
        "Anzahl erwartet (ganze Zahl ab 0), bereits unterdrückt „< 5“ oder „x“, bei den Zahlen des "
        "Verbunds auch „mind. 12“.")


def test_the_nodes_are_asked_in_parallel() -> None:
    """Four slow nodes: together in about the time of one, not four."""
    barrier = threading.Barrier(4, timeout=5)

    class Slow(Federation):
        def figures(self, node_id: str, acting_user: str,
                period: ReportPeriod | None = None) -> CaseFiguresRecord:
            barrier.wait()  # only passes when all four calls are under way at once
            return peer_record()

    nodes = [KREIS, *(PeerNode(f"n{i}", f"org-{i}", "municipality") for i in range(4))]
    combined = read(OwnCaseService(figures()), Slow(nodes, {}))
    assert len(combined.sources) == 5


# --- printed -----------------------------------------------------------------------------------

def options(**overrides: Any) -> ReportOptions:
    fields: dict[str, Any] = dict(author="koord.kreis", organization="kreis-mettmann", stand=STAND)
    fields.update(overrides)
    return ReportOptions(**fields)


def federation_figures() -> CombinedFigures:
    federation = Federation([KREIS, HILDEN, CARITAS], {
        "stadt-hilden": peer_record(), "caritas-mettmann": Unavailable("weg")})
    combined = read(OwnCaseService(figures()), federation)
    assert isinstance(combined, CombinedFigures)
    return combined


def test_the_monitoringbericht_names_the_nodes_and_prints_the_marks_with_their_footnotes() -> None:
    data = federation_monitoring_input(federation_figures(), options(recipient="Kreistag"))
    assert data["cases_by_status"]["active"] == 1274 and data["cases_by_status"]["closed"] == "x"
    # The Kreis's own total is withheld (its tables hold small cells): the federation's total is
    # what the nodes showed, "mind.".
    assert data["cases_total"] == "mind. 1284"
    prepared = MONITORING.prepare(data)
    rows = {r["label"]: r["count"] for r in prepared.context["by_status"]["rows"]}
    assert rows["aktiv (Monitoring)"] == "1.274" and rows["abgeschlossen"] == "x"
    groups = {r["label"]: r["count"] for r in prepared.context["by_zielgruppe"]["rows"]}
    assert groups["Geduldete und Gestattete über 27"] == "1.280" and groups["Südosteuropa"] == "< 5"
    assert groups["keine Zielgruppe"] == "x"  # small at two nodes: "< 5" would not be true
    text = body_text(render_builtin(MONITORING, prepared.context))
    assert "Datengrundlage" in text
    assert "– kreis-mettmann (Stand: 12.05.2026, 09:15 Uhr)" in text
    assert "– stadt-hilden (Stand: 12.05.2026, 09:15 Uhr)" in text
    assert "Ohne Angaben von:" in text and "– caritas-mettmann (nicht erreichbar)" in text
    assert "Zielgruppenkatalog: Version 1 (alle Knoten)" in text
    assert "„x“: nicht ausgewiesen, weil die Knoten hierzu nur Kleinstwerte" in text
    assert "Summen der von den Knoten ausgewiesenen Werte" in text
    assert "Stand der Fallakten aller erreichten Knoten des KIM-Verbunds am 12.05.2026" in text
    lines = "\n".join(prepared.context["summary"])
    # Handlungsfelder: shown at both nodes, small at both ("x"), totals shown at both (exact).
    assert "\nAusbildung: 2.500\nSprache: x\ninsgesamt: 2.504" in lines


def test_a_node_report_shows_no_federation_section() -> None:
    from services.documents.inputs.monitoringbericht import monitoring_input

    prepared = MONITORING.prepare(monitoring_input(figures(), options()))
    assert prepared.context["federation"]["active"] is False
    text = body_text(render_builtin(MONITORING, prepared.context))
    assert "Datengrundlage" not in text and "Ohne Angaben von" not in text


def test_at_least_figures_print_in_tables_and_stay_out_of_node_reports() -> None:
    data = federation_monitoring_input(federation_figures(), options())
    data["cases_by_status"]["admitted"] = "mind. 1500"
    data["cases_total"] = "mind. 2800"
    context = MONITORING.prepare(data).context
    rows = {r["label"]: r["count"] for r in context["by_status"]["rows"]}
    assert rows["ins Case Management aufgenommen"] == "mind. 1.500"
    assert context["by_status"]["total"] == "mind. 2.800"
    bars = {c.label: c.value for c in MONITORING.prepare(data).charts["cases_by_status"].cells}
    assert bars["ins Case Management aufgenommen"] is None  # no height for a lower bound

    too_small = dict(data, cases_total="mind. 10")
    with pytest.raises(InvalidArgument) as caught:
        MONITORING.prepare(too_small)
    assert "kleiner als die ausgewiesenen Werte" in caught.value.violations[0].description

    node_report = {key: value for key, value in data.items() if key != "federation"}
    with pytest.raises(InvalidArgument) as caught:
        MONITORING.prepare(node_report)
    assert any("nur bei den Zahlen des Verbunds" in v.description for v in caught.value.violations)


def test_a_total_may_be_withheld_in_a_federation_and_in_a_single_nodes_report() -> None:
    """A node withholds the total of a table with a small cell (kimnetz/disclosure.py), so a report
    of one node's figures carries "x" as its total too (before, only the federation's could)."""
    data = federation_monitoring_input(federation_figures(), options())
    data.update(cases_by_status={"active": "x", "closed": "< 5"},
                cases_by_zielgruppe=[{"label": "A", "count": "x"}, {"label": "B", "count": "< 5"}],
                cases_total="x")
    assert MONITORING.prepare(data).context["by_status"]["total"] == "x"
    del data["federation"]
    assert MONITORING.prepare(data).context["by_zielgruppe"]["total"] == "x"
    data.update(cases_total="mind. 12")
    with pytest.raises(InvalidArgument):
        MONITORING.prepare(data)


def test_the_drucksache_carries_the_federation_figures_with_sources_and_footnotes() -> None:
    combined = federation_figures()
    paper = make_drucksache(body_text="Einleitung.\n\n[Fallzahlen]\n\nSchluss.")
    data = drucksache_with_figures(paper, combined, STAND)
    body = data["body_text"]
    assert body.startswith("Einleitung.\n\nFallzahlen des Kommunalen Integrationsmanagements im Verbund "
                           "(Stand: 12.05.2026).")
    assert ("Die Zahlen fassen die Angaben folgender Knoten des KIM-Verbunds zusammen: kreis-mettmann "
            "(Stand: 12.05.2026, 09:15 Uhr), stadt-hilden (Stand: 12.05.2026, 09:15 Uhr).") in body
    assert "Ohne Angaben von caritas-mettmann (nicht erreichbar)." in body
    assert "\naktiv: 1.274\n" in body and "\nabgeschlossen: x\n" in body
    assert "\ninsgesamt: mind. 1.284\n" in body
    assert "\nGeduldete und Gestattete über 27: 1.280\n" in body
    assert "\nkeine Zielgruppe: < 5\n" not in body  # two nodes report it small: not "< 5"
    assert "\nkeine Zielgruppe: x\n" in body
    assert "Erläuterungen: Zum Schutz der betroffenen Personen" in body
    assert body.endswith("Schluss.")
    text = body_text(render_builtin(DRUCKSACHE, DRUCKSACHE.prepare(data).context))
    assert "Ohne Angaben von caritas-mettmann (nicht erreichbar)." in text


def test_durations_say_how_they_are_weighted_and_whom_they_leave_out() -> None:
    paragraphs = federation_paragraphs(federation_figures(), STAND)
    duration = next(p for p in paragraphs if p.startswith("Dauer vom Fallvorschlag"))
    # The Kreis' "in der Fallkonferenz" is "< 5", so its decided cases are unknown: left out, named.
    assert duration == (
        "Dauer vom Fallvorschlag bis zur ersten Entscheidung: im Mittel 14,0 Tage (nach Fallzahlen "
        "gewichtet; ohne kreis-mettmann: Fallzahl zur Gewichtung nicht ausgewiesen).")
    only_small = federation_figures()
    nobody = federation_paragraphs(CombinedFigures(**{**only_small.__dict__, "days_to_decision": type(
        only_small.days_to_decision)(None, (), (("kreis-mettmann", "weniger als 5 Fälle"),))}), STAND)
    assert any(p.startswith("Dauer vom Fallvorschlag bis zur ersten Entscheidung: nicht ausgewiesen")
               for p in nobody)
