"""What the story reports: one row per step and node (`StepResult`) to an `Observer` (the demo
prints it; tests need nothing), and the German wording of what the nodes answer (enum names,
eligibility, dates, sizes, erase confirmations)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kim.common.v1.types_pb2 import Date
from kim.conference.v1 import types_pb2 as KT

BERLIN = ZoneInfo("Europe/Berlin")

AGE_BANDS = {KT.AGE_BAND_UNDER_18: "unter 18", KT.AGE_BAND_FROM_18_TO_27: "18 bis 27",
             KT.AGE_BAND_FROM_28_TO_39: "28 bis 39", KT.AGE_BAND_FROM_40_TO_64: "40 bis 64",
             KT.AGE_BAND_FROM_65: "65 und älter"}


@dataclass
class StepResult:
    """One row of "was lief wo": a step of the story on one node."""

    step: str
    node: str
    ok: bool
    detail: str
    seconds: float
    #: The result in a few words, for the summary table.
    summary: str = ""


class Observer(Protocol):
    """Where the story reports its progress (the demo prints it; tests need nothing)."""

    def step_started(self, title: str) -> None: ...

    def row(self, result: StepResult) -> None: ...


class Silent:
    def step_started(self, title: str) -> None:
        pass

    def row(self, result: StepResult) -> None:
        pass


def erasure_confirmations(case: Any, consent_id: str) -> list[str]:
    """The receivers' erase confirmations recorded on the revoked consent, one German line each
    ("kreis-mettmann (kreis-mettmann) am 21.11.2026 14:03: Fallvorschlag ... gelöscht")."""
    consent = next((c for c in case.consents if c.consent_id == consent_id), None)
    if consent is None:
        return []
    return [f"{c.node} ({c.organization}) am "
            f"{c.erased_at.ToDatetime(tzinfo=UTC).astimezone(BERLIN).strftime('%d.%m.%Y %H:%M')}: "
            f"{c.summary}" for c in consent.erasure_confirmations]


def eligibility(case: Any) -> str:
    """The check's summary; without a match only that (the reasons name age and status)."""
    summary = str(case.eligibility.summary)
    return summary if case.eligibility.matched else "keine Zielgruppe trifft zu"


def enum_name(enum: Any, value: int) -> str:
    """An enum value's name without its prefix (\"CASE_STATUS_ADMITTED\" -> \"ADMITTED\")."""
    name = str(enum.Name(value))
    prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum.DESCRIPTOR.name).upper() + "_"
    return name.removeprefix(prefix)


def german_day(day: Date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def size(octets: int) -> str:
    return f"{octets / 1024:.1f} KB".replace(".", ",")
