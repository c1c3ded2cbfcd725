"""Monitoring per reporting period (issue 14): what happened in a Berichtszeitraum and what stood
at its end, counted as the changes happen, not by reading every case file on each request.

Every write that moves a case (a Fallvorschlag, a decision, the start of the case work, an
Abschluss, a reopening) adds `LedgerEntry`s to the node's figures ledger: a day, a table, a key
and +1 or -1. Nothing in an entry names or points to a case or a person: one entry is one
table's key on one day, the dimensions of one Aufnahme are separate entries (no cross-table
record of a person), and the ledger is not touched by retention, so a case erased after its
Löschfrist still counts in the year it was admitted and closed (issue 14: "Closing reasons
counted ... and kept after retention as aggregates").

The period arithmetic (`period_counts`):

- movements in a period [start, end] (both days included) are the sum of the entries of the
  movement tables dated in it, so the figures of adjacent periods add up to those of their union
  (four quarters give the year);
- the stock at the end of a period is the sum of the status entries dated up to its end (each
  status change is -1 for the old status and +1 for the new one), so
  stock(end of Q2) = stock(end of Q1) + what entered in Q2 - what left in Q2.

The breakdowns (Kommune of residence, Zielgruppe, gender, access route, age band, residence
status, origin region) describe the Aufnahmen of the period with the person's
characteristics on the day of the Aufnahme: they do not change afterwards (a birthday, a new
residence permit), so the sums over periods hold for them too, and the year's report says the
same as its quarters.

Seeds: the Fallvorschlag -> Fallkonferenz -> Aufnahme or Verweisberatung flow (Borken); the
reasons of an Abschluss (DOMAIN.md, lifecycle 7); Zielgruppen and the age edges around 27
(Hilden, RBK: JMD up to 27, MBE over 27); "regelmäßiges Monitoring" for politics (HSK).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from kimnetz.errors import FieldViolation, InvalidArgument
from kimnetz.vocabulary import AccessRoute, AgeBand, Gender, Movement
from services.case.domain import events as e
from services.case.domain.person import Person
from services.case.domain.vocabulary import CaseStatus, ClosureReason, ReferralTarget, ResidenceStatusKind

# -- tables ------------------------------------------------------------------------------------

STATUS = "status"
"""Stock: +1/-1 per status change; summed up to a day, the cases per status on that day."""
MOVEMENT = "movement"
REFERRED = "referred"  # Verweisberatungen by target
CLOSED = "closed"  # Abschlüsse by reason
ADMITTED_PREFIX = "admitted_"
"""Aufnahmen by a characteristic of the person on the day of the Aufnahme: admitted_<dimension>."""

PROPOSED, ADMISSION, REFERRAL, REJECTION, DEFERRAL, CLOSING, REOPENING = (m.value for m in Movement)
MOVEMENTS: tuple[tuple[str, str], ...] = tuple((m.value, m.label) for m in Movement)
"""The movement table's rows (the shared vocabulary, `kimnetz.vocabulary.Movement`)."""

UNKNOWN = "unknown"
UNKNOWN_LABEL = "nicht erfasst"

#: Age bands on the day of the Aufnahme: the shared `AgeBand` of the briefs (JMD and Durchstarten
#: up to 27, MBE "über 27": RBK seed; Mettmann's "älter als 27": Hilden seed).
AGE_BANDS: tuple[tuple[str, str], ...] = tuple((band.value, band.label) for band in AgeBand)


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Herkunftsregionen (ISO 3166 codes of the country of origin). Süd-Ost-Europa is the Hilden
#: seed's list (Kreis Mettmann's Zielgruppe; Kosovo XK; Türkei only in part: counted under
#: "Naher und Mittlerer Osten" here, since the region of origin is not a country's whole).
ORIGIN_REGIONS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("suedosteuropa", "Süd-Ost-Europa", _codes("AL BA BG GR XK HR MD ME MK RO RS SI HU CY")),
    ("osteuropa", "Osteuropa (ohne Süd-Ost-Europa)", _codes("UA RU BY PL CZ SK LT LV EE GE AM AZ")),
    ("naher_mittlerer_osten", "Naher und Mittlerer Osten", _codes("SY IQ IR AF LB JO PS YE SA TR KW")),
    ("afrika", "Afrika", _codes("DZ EG LY MA TN ER ET SO SD SS NG GH GN GM SN ML CI CM CD CG KE UG TZ SL "
                               "LR BF NE TD AO ZW")),
    ("asien", "Asien (sonstige)", _codes("PK IN BD LK CN VN MN NP MM KZ UZ TJ KG TM")),
    ("amerika", "Amerika", _codes("BR CO VE PE EC US MX CU AR CL BO HT")),
)
OTHER_REGION = ("sonstige", "sonstige Herkunft")

#: The Aufnahmen's breakdowns, in the order reports print them: (dimension, German title).
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("kommune", "Aufnahmen nach Wohnort (Kommune)"),
    ("zielgruppe", "Aufnahmen nach Zielgruppe"),
    ("gender", "Aufnahmen nach Geschlecht"),
    ("access_route", "Aufnahmen nach Zugangsweg"),
    ("age_band", "Aufnahmen nach Altersgruppe (bei Aufnahme)"),
    ("residence", "Aufnahmen nach Aufenthaltsstatus (bei Aufnahme)"),
    ("origin_region", "Aufnahmen nach Herkunftsregion"),
)

CASE_MANAGEMENT = frozenset({CaseStatus.ADMITTED, CaseStatus.ASSESSMENT, CaseStatus.PLANNING,
                             CaseStatus.ACTIVE})
"""The statuses that count as "im Case Management" (the stock a Kreis reports)."""


@dataclass(frozen=True)
class LedgerEntry:
    day: date
    table: str
    key: str
    delta: int
    label: str = ""
    """Only where the vocabulary has no label for the key: the name of a Kommune."""


# -- the period ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A Berichtszeitraum: from `start` to `end`, both days included."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, *, today: date) -> Period:
        """The period a caller asks for; without an end today, without a start the 1 January of
        the end's year (the Sachbericht's Berichtsjahr). German violations for the impossible."""
        end = end or today
        start = start or end.replace(month=1, day=1)
        if start > end:
            raise InvalidArgument([FieldViolation(
                "period_to", "Das Ende des Berichtszeitraums liegt vor seinem Beginn.")])
        return cls(start, end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def age_band(age: int) -> str:
    return AgeBand.for_age(age).value if age >= 0 else UNKNOWN


def origin_region(country: str) -> str:
    code = country.strip().upper()
    for key, _, codes in ORIGIN_REGIONS:
        if code in codes:
            return key
    return OTHER_REGION[0] if code else UNKNOWN


def labels(dimension: str, zielgruppen: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Every key of a breakdown with its German label, also those not counted (a missing row
    would tell as much as a 0). `zielgruppen`: key -> name of the current catalogue."""
    if dimension == "zielgruppe":
        return [*(zielgruppen or {}).items(), ("", "keine Zielgruppe")]
    if dimension == "age_band":
        return [*AGE_BANDS, (UNKNOWN, UNKNOWN_LABEL)]
    if dimension == "gender":
        return [(g.value, g.label) for g in Gender]
    if dimension == "access_route":
        return [(r.value, r.label) for r in AccessRoute] + [(UNKNOWN, UNKNOWN_LABEL)]
    if dimension == "kommune":  # the Kommunen counted are listed as they come (labels below)
        return [(UNKNOWN, "Wohnort nicht erfasst")]
    if dimension == "residence":
        return [(k.value, k.label) for k in ResidenceStatusKind] + [(UNKNOWN, UNKNOWN_LABEL)]
    if dimension == "origin_region":
        return [(key, label) for key, label, _ in ORIGIN_REGIONS] + [OTHER_REGION, (UNKNOWN, UNKNOWN_LABEL)]
    return [(UNKNOWN, UNKNOWN_LABEL)]


def admission_keys(person: Person | None, zielgruppe: str, day: date,
                   access_route: AccessRoute | None = None) -> dict[str, tuple[str, str]]:
    """The Aufnahme's (key, label) per dimension (the person as on `day`; erased or unreadable:
    unknown). Labels are stored only where the vocabulary cannot give them: the Kommune's name."""
    route = (access_route.value if access_route else UNKNOWN, "")
    keys = {"zielgruppe": (zielgruppe, ""), "access_route": route}
    if person is None:
        return {**keys, "kommune": (UNKNOWN, ""), "gender": (Gender.OHNE_ANGABE.value, ""),
                "age_band": (UNKNOWN, ""), "residence": (UNKNOWN, ""), "origin_region": (UNKNOWN, "")}
    home = person.home_kommune
    return {**keys, "kommune": (home.key, home.name) if home else (UNKNOWN, ""),
            "gender": (person.gender.value, ""), "age_band": (age_band(person.age_on(day)), ""),
            "residence": (person.residence.kind.value, ""),
            "origin_region": (origin_region(person.country_of_origin), "")}


# -- entries from a write ------------------------------------------------------------------------

def entries(before: CaseStatus | None, after: CaseStatus, events: Sequence[e.Event], day: date,
            admission: dict[str, tuple[str, str]] | None = None) -> list[LedgerEntry]:
    """The ledger entries of one write of a case: its status change (`before` None for a new
    Fallvorschlag) and its movements, read from the events it records. `admission`: the keys of
    the Aufnahme (`admission_keys`), needed when the events hold a `CaseAdmitted`."""
    out: list[LedgerEntry] = []
    if before != after:
        if before is not None:
            out.append(LedgerEntry(day, STATUS, before.value, -1))
        out.append(LedgerEntry(day, STATUS, after.value, +1))
    for event in events:
        if isinstance(event, e.CaseProposed):
            out.append(LedgerEntry(day, MOVEMENT, PROPOSED, 1))
        elif isinstance(event, e.CaseAdmitted):
            out.append(LedgerEntry(day, MOVEMENT, ADMISSION, 1))
            for dimension, (key, label) in (admission or {}).items():
                out.append(LedgerEntry(day, ADMITTED_PREFIX + dimension, key, 1, label))
        elif isinstance(event, e.CaseReferred):
            out += [LedgerEntry(day, MOVEMENT, REFERRAL, 1),
                    LedgerEntry(day, REFERRED, event.target.value, 1)]
        elif isinstance(event, e.CaseRejected):
            out.append(LedgerEntry(day, MOVEMENT, REJECTION, 1))
        elif isinstance(event, e.CaseDeferred):
            out.append(LedgerEntry(day, MOVEMENT, DEFERRAL, 1))
        elif isinstance(event, e.CaseClosed):
            out += [LedgerEntry(day, MOVEMENT, CLOSING, 1), LedgerEntry(day, CLOSED, event.reason.value, 1)]
        elif isinstance(event, e.CaseReopened):
            out.append(LedgerEntry(day, MOVEMENT, REOPENING, 1))
    return out


def admits(events: Iterable[e.Event]) -> bool:
    return any(isinstance(event, e.CaseAdmitted) for event in events)


# -- the period's counts -------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodCounts:
    """Exact counts of a period (node-internal; `period_figures.py` suppresses them)."""

    period: Period
    movements: dict[str, int]
    referred: dict[str, int]
    closed: dict[str, int]
    stock: dict[str, int]
    """Cases per status at the end of the period."""
    admitted: dict[str, dict[str, int]]
    """Aufnahmen of the period per dimension and key."""
    names: dict[str, str] = field(default_factory=dict)
    """Labels the ledger carries (a Kommune's name by its key)."""

    @property
    def in_case_management(self) -> int:
        return sum(self.stock.get(s.value, 0) for s in CASE_MANAGEMENT)


def period_counts(ledger: Iterable[LedgerEntry], period: Period) -> PeriodCounts:
    """The period's counts from ledger entries (those after its end are ignored, so a caller may
    hand the whole ledger or only what lies up to the end)."""
    movements: dict[str, int] = {}
    referred: dict[str, int] = {}
    closed: dict[str, int] = {}
    stock: dict[str, int] = {}
    admitted: dict[str, dict[str, int]] = {}
    names: dict[str, str] = {}

    def add(table: dict[str, int], key: str, delta: int) -> None:
        table[key] = table.get(key, 0) + delta

    for entry in ledger:
        if entry.day > period.end:
            continue
        if entry.table == STATUS:
            add(stock, entry.key, entry.delta)
            continue
        if entry.day < period.start:
            continue
        if entry.table == MOVEMENT:
            add(movements, entry.key, entry.delta)
        elif entry.table == REFERRED:
            add(referred, entry.key, entry.delta)
        elif entry.table == CLOSED:
            add(closed, entry.key, entry.delta)
        elif entry.table.startswith(ADMITTED_PREFIX):
            add(admitted.setdefault(entry.table.removeprefix(ADMITTED_PREFIX), {}), entry.key, entry.delta)
            if entry.label:
                names[entry.key] = entry.label
    return PeriodCounts(period, movements, referred, closed, stock, admitted, names)


MOVEMENT_KEYS = tuple(key for key, _ in MOVEMENTS)
REFERRAL_TARGETS = tuple(ReferralTarget)
CLOSURE_REASONS = tuple(ClosureReason)
