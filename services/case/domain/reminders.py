"""Reminders (Erinnerungen): dates in a case that a case manager must act on before they pass.

Which occasions (issue 14; docs/case.md, „Reminders“, names the seed of each):

- the end of a Duldung or an Aufenthaltsgestattung (`ResidenceStatus.valid_until`): the
  extension must be applied for at the Ausländerbehörde before the paper ends;
- the 18th birthday: Volljährigkeit, the change of Rechtskreis (Jugendhilfe SGB VIII to SGB II,
  SGB XII or AsylbLG; the end of a UMF's Inobhutnahme);
- the 21st birthday: Hilfe für junge Volljährige (§ 41 SGB VIII) usually ends;
- the last day for an application under § 25a AufenthG: it must be made „vor Vollendung des
  27. Lebensjahres“, i.e. at the latest on the day before the 27th birthday (§ 187 Abs. 2,
  § 188 Abs. 2 BGB). Only while such an application is still possible: the person holds a
  Duldung or an Aufenthaltserlaubnis under § 104c AufenthG (§ 25a Abs. 1), not § 25a already;
- the next review in the Fallkonferenz of an active case (`Case.next_review_due`, Borken).

An occasion is (kind, date). Its reminder window opens `lead` days before the date (the lead
times are settings, `LeadTimes`) and closes after the date: a reminder is never sent for a day
that has passed. Each occasion is reminded once (`Case.remind` records it): a new date (a
renewed Duldung, the next review) is a new occasion. Pure: no framework, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from services.case.domain.lifecycle import OPEN_STATES
from services.case.domain.person import Person, legal_basis_key
from services.case.domain.vocabulary import CaseStatus, ReminderKind, ResidenceStatusKind

if TYPE_CHECKING:  # case.py records the reminders it sent and imports this module
    from services.case.domain.case import Case

K = ReminderKind

#: The age before whose completion a § 25a application must be made.
AGE_LIMIT_25A = 27


@dataclass(frozen=True)
class LeadTimes:
    """How many days before its date each kind of occasion is reminded of (defaults in
    docs/case.md; settings `KIM_CASE_REMINDER_*_DAYS`)."""

    #: Extension of a Duldung/Gestattung: appointments at the ABH take weeks.
    residence_days: int = 42
    #: 18th and 21st birthday: Hilfeplan, the application at the Jobcenter or Sozialamt.
    birthday_days: int = 90
    #: § 25a: school certificates, passport, proof of identity take months to gather.
    application_25a_days: int = 180
    #: The Fallkonferenz's review: preparing the Fallbesprechung.
    review_days: int = 14

    def days(self, kind: ReminderKind) -> int:
        if kind in (K.DULDUNG_ENDS, K.GESTATTUNG_ENDS):
            return self.residence_days
        if kind in (K.BIRTHDAY_18, K.BIRTHDAY_21):
            return self.birthday_days
        if kind is K.APPLICATION_25A_DEADLINE:
            return self.application_25a_days
        return self.review_days


@dataclass(frozen=True)
class Occasion:
    """A date in a case to be reminded of, and from which day on."""

    kind: ReminderKind
    due_on: date
    remind_from: date

    @property
    def label(self) -> str:
        return self.kind.label

    def open_on(self, today: date) -> bool:
        return self.remind_from <= today <= self.due_on


@dataclass(frozen=True)
class SentReminder:
    """An occasion the case manager was reminded of (kept on the case: once per occasion)."""

    kind: ReminderKind
    due_on: date
    sent_at: datetime


def birthday(birth_date: date, years: int) -> date:
    """The day a person turns `years` (someone born on 29 February: 1 March in common years,
    as `person.age_on` counts)."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def may_still_apply_25a(person: Person) -> bool:
    """Whether an application under § 25a AufenthG is open to the person by her status: a
    Duldung, or an Aufenthaltserlaubnis under § 104c (Chancen-Aufenthaltsrecht); not one who
    holds § 25a or § 25b already or a better status."""
    residence = person.residence
    if residence.kind is ResidenceStatusKind.DULDUNG:
        return legal_basis_key(residence.legal_basis) not in (("25a", "aufenthg"), ("25b", "aufenthg"))
    return (residence.kind is ResidenceStatusKind.AUFENTHALTSERLAUBNIS
            and legal_basis_key(residence.legal_basis) == ("104c", "aufenthg"))


def occasions(case: Case, person: Person | None, lead: LeadTimes) -> list[Occasion]:
    """Every occasion of an open case, whatever the day (sorted by date). None for a closed,
    referred or rejected case (nothing more is worked on it) or without a person (erased)."""
    if case.status not in OPEN_STATES:
        return []
    found: list[tuple[ReminderKind, date]] = []
    if person is not None:
        residence = person.residence
        if residence.valid_until is not None:
            if residence.kind is ResidenceStatusKind.DULDUNG:
                found.append((K.DULDUNG_ENDS, residence.valid_until))
            elif residence.kind is ResidenceStatusKind.AUFENTHALTSGESTATTUNG:
                found.append((K.GESTATTUNG_ENDS, residence.valid_until))
        found.append((K.BIRTHDAY_18, birthday(person.birth_date, 18)))
        found.append((K.BIRTHDAY_21, birthday(person.birth_date, 21)))
        if may_still_apply_25a(person):
            found.append((K.APPLICATION_25A_DEADLINE,
                          birthday(person.birth_date, AGE_LIMIT_25A) - timedelta(days=1)))
    if case.status is CaseStatus.ACTIVE and case.next_review_due is not None:
        found.append((K.REVIEW_DUE, case.next_review_due))
    return sorted((Occasion(kind, on, on - timedelta(days=lead.days(kind))) for kind, on in found),
                  key=lambda o: (o.due_on, o.kind.value))


def due(case: Case, person: Person | None, today: date, lead: LeadTimes, *,
        horizon_days: int = 0) -> list[Occasion]:
    """The occasions whose window is open `today`, and with `horizon_days` also those whose date
    lies within that many days (a look further ahead than the lead times). Passed dates never."""
    until = today + timedelta(days=max(horizon_days, 0))
    return [o for o in occasions(case, person, lead)
            if o.due_on >= today and (o.remind_from <= today or o.due_on <= until)]


def unsent(case: Case, person: Person | None, today: date, lead: LeadTimes) -> list[Occasion]:
    """What the worker still has to remind of today: due and not yet sent."""
    return [o for o in due(case, person, today, lead) if not case.reminded(o.kind, o.due_on)]


@dataclass(frozen=True)
class Reminder:
    """One line of the „Was ist fällig“ view: an open occasion of a case and whether the worker
    has sent its reminder."""

    case_id: str
    pseudonym: str
    kind: ReminderKind
    due_on: date
    remind_from: date
    case_manager: str
    sent: bool

    @property
    def label(self) -> str:
        return self.kind.label


def reminders_of(case: Case, person: Person | None, today: date, lead: LeadTimes, *,
                 horizon_days: int = 0) -> list[Reminder]:
    return [Reminder(case.case_id, case.pseudonym, o.kind, o.due_on, o.remind_from, case.case_manager,
                     case.reminded(o.kind, o.due_on))
            for o in due(case, person, today, lead, horizon_days=horizon_days)]
