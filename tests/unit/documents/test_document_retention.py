"""The documents' Löschfrist: case records go after the period, administrative records stay,
and a kind nobody classified is treated as a case record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.documents.domain.kinds import KINDS
from services.documents.domain.retention import RULES, Rule, due, kept_kinds, rule

NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
PERIOD = timedelta(days=1095)


def test_every_kind_has_a_rule() -> None:
    assert set(RULES) == set(KINDS)


def test_a_protocol_is_due_exactly_after_the_period() -> None:
    assert not due("fallkonferenz_protokoll", NOW - PERIOD + timedelta(seconds=1), NOW, PERIOD)
    assert due("fallkonferenz_protokoll", NOW - PERIOD, NOW, PERIOD)


def test_administrative_records_are_never_due() -> None:
    for kind in ("contract", "drucksache", "lenkungsgruppe_protokoll", "monitoringbericht"):
        assert rule(kind) is Rule.ADMINISTRATIVE_RECORD and kind in kept_kinds()
        assert not due(kind, NOW - 10 * PERIOD, NOW, PERIOD)


def test_an_unclassified_kind_is_a_case_record() -> None:
    assert rule("einwilligungserklaerung") is Rule.CASE_RECORD
    assert due("einwilligungserklaerung", NOW - PERIOD, NOW, PERIOD)
