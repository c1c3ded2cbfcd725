"""Fallkonferenz-Protokoll, Lenkungsgruppe-Beschlussprotokoll and Monitoringbericht: their input
checks (every problem with its path, German), the suppression of small numbers, and the built-in
templates checked like uploads."""

from __future__ import annotations

import copy
import io
import zipfile
from typing import Any

import pytest

from kimnetz.errors import InvalidArgument
from services.documents.domain.kinds import FALLKONFERENZ, KINDS, LENKUNGSGRUPPE, MONITORING
from services.documents.domain.monitoring import suppress
from services.documents.rendering import TEMPLATES_DIR, Renderer, validate_template


def problems(kind: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        kind.prepare(data)
    return {v.field: v.description for v in caught.value.violations}


def sample(kind: Any, **overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(kind.sample_input())
    data.update(overrides)
    return data


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.id)
def test_every_builtin_template_passes_the_upload_check(kind: Any) -> None:
    validate_template((TEMPLATES_DIR / kind.default_template).read_bytes(), kind)


def test_a_fallkonferenz_needs_pseudonyms_a_coordinator_and_fitting_decisions() -> None:
    data = sample(FALLKONFERENZ, start="9 Uhr")
    data["participants"][0]["role"] = "case_manager"
    data["items"][0].update(pseudonym="Ahmad Beispiel", decision="continue")
    data["items"].append({**FALLKONFERENZ.sample_input()["items"][0], "assigned_to": None})
    found = problems(FALLKONFERENZ, data)
    assert "HH:MM" in found["start"]
    assert "Koordination" in found["participants"]
    assert "nie Name" in found["items[0].pseudonym"]
    assert "nicht möglich" in found["items[0].decision"]
    assert "Organisation des Case Managements" in found["items[1].assigned_to"]


def test_the_same_case_twice_on_one_agenda_is_refused() -> None:
    data = sample(FALLKONFERENZ)
    data["items"].append(copy.deepcopy(data["items"][0]))
    assert "zweimal" in problems(FALLKONFERENZ, data)["items"]


def test_a_session_without_quorum_adopts_nothing_and_votes_fit_the_members_present() -> None:
    data = sample(LENKUNGSGRUPPE, quorum=2)
    data["beschluesse"][0]["votes"] = {"ja": 2, "nein": 0, "enthaltung": 1}
    data["beschluesse"][0]["due"] = "2026-03-01"
    found = problems(LENKUNGSGRUPPE, data)
    assert "nicht beschlussfähig" in found["beschluesse"]
    assert "3 Stimmen, aber nur 1" in found["beschluesse[0].votes"]
    assert "nicht vor der Sitzung" in found["beschluesse[0].due"]


def test_overdue_beschluesse_are_marked_in_the_tracking_table() -> None:
    context = LENKUNGSGRUPPE.prepare(sample(LENKUNGSGRUPPE)).context
    assert context["tracking"][0]["status"] == "in Umsetzung – überfällig"
    assert context["beschluesse"][0]["result"] == "angenommen"
    assert context["quorum"]["reached"] is True


def test_ties_are_not_adopted() -> None:
    data = sample(LENKUNGSGRUPPE, quorum=1)
    data["members"][1]["present"] = True
    data["beschluesse"][0]["votes"] = {"ja": 1, "nein": 1, "enthaltung": 0}
    assert LENKUNGSGRUPPE.prepare(data).context["beschluesse"][0]["result"] == "abgelehnt"


@pytest.mark.parametrize(
    ("counts", "shown", "total"),
    [
        ([12, 7, 30], ["12", "7", "30"], "49"),
        ([3, 12, 7], ["< 5", "x", "7"], "x"),
        ([0, 2, 9], ["0", "< 5", "x"], "x"),
        ([1, 2], ["< 5", "< 5"], "< 5"),
        ([4], ["< 5"], "< 5"),
    ],
)
def test_small_numbers_are_never_shown_nor_derivable_from_the_total(counts, shown, total) -> None:
    cells, sum_cell = suppress([(f"g{i}", c) for i, c in enumerate(counts)])
    assert [c.shown for c in cells] == shown
    assert sum_cell.shown == total
    assert all(c.value is None for c in cells if c.shown in ("< 5", "x"))


def test_unknown_statuses_and_negative_counts_are_refused() -> None:
    data = sample(MONITORING, cases_by_status={"aktiv": 3, "closed": -1})
    assert "Unbekannter Status aktiv" in problems(MONITORING, data)["cases_by_status"]
    data = sample(MONITORING, period={"from": "2026-06-30", "to": "2026-01-01"})
    assert "vor seinem Beginn" in problems(MONITORING, data)["period.to"]


def test_report_charts_carry_no_height_for_suppressed_cells() -> None:
    charts = MONITORING.prepare(sample(MONITORING)).charts
    by_group = charts["cases_by_zielgruppe"].cells
    assert [(c.label, c.value) for c in by_group] == [("UMF", None), ("Geduldete über 27", None)]


def test_chart_placeholders_are_found_and_replaced() -> None:
    renderer = Renderer()
    ref = renderer.builtin(MONITORING)
    compiled = renderer.compiled(ref)
    assert set(compiled.charts) == {"cases_by_status", "cases_by_zielgruppe"}
    image = b"\x89PNG replaced"
    content = compiled.render(MONITORING.variables, {"cases_by_status": image})
    with zipfile.ZipFile(io.BytesIO(content)) as docx:
        assert docx.read(compiled.charts["cases_by_status"].info.filename) == image
        assert docx.read(compiled.charts["cases_by_zielgruppe"].info.filename).startswith(b"\x89PNG\r\n")


def test_a_chart_the_kind_does_not_provide_is_refused() -> None:
    template = (TEMPLATES_DIR / "monitoringbericht.docx").read_bytes()
    source, target = zipfile.ZipFile(io.BytesIO(template)), io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"kim-chart:cases_by_status", b"kim-chart:einkommen")
            out.writestr(info, data)
    with pytest.raises(InvalidArgument) as caught:
        validate_template(target.getvalue(), MONITORING)
    assert "Diagramm „einkommen“" in caught.value.violations[0].description
