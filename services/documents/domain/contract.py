"""Kooperations-/Weiterleitungsvertrag: the Kreis passes KIM positions (VZÄ) on to a Kommune or a
Träger der Freien Wohlfahrtspflege and forwards the state's Pauschale: Baustein 2 case management
(the usual case), Baustein 1 coordination passed on to a Kommune (HSK: 1 VZÄ to the Stadt
Arnsberg), Baustein 3 positions of a Kommune's Ausländer- und Einbürgerungsbehörde.

What a contract carries besides the money (the Kreise's contracts, DOMAIN.md):
- a Stellenteilung: one position shared by several Kommunen (Voerde: "bei kleineren Kommunen");
- Defizitübernahme by the Kreis instead of a flat top-up (Voerde: considered for Träger);
- the funding law the Kreis chooses (ANBest-G for Gemeinden, ANBest-P for Träger by default),
  with Prüfrecht and Rückforderung;
- the data-protection law the partner is bound by: a Kommune by DSGVO, DSG NRW and SGB X; a
  catholic Träger (Caritas) by the KDG, a protestant one (Diakonie) by the DSG-EKD; other Träger
  by DSGVO and BDSG;
- the check of all allocations against the granted VZÄ and the Kreis's key (domain/funding.py).

Money rule (also in docs/documents.md):
- annual amount = VZÄ × (Pauschale je VZÄ + Aufstockung des Kreises je VZÄ), rounded to the cent;
- term amount = annual amount × anrechenbare Monate / 12, rounded half up to the cent;
- a calendar month counts when the term covers at least 15 of its days. So a term starting on the
  1st or the 15th counts its first month, and an anniversary term (15.01. to 14.01.) counts exactly
  twelve months, never thirteen. Terms longer than a year scale the same way (24 months = 2 × annual).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from services.documents.domain import formats
from services.documents.domain.funding import (
    BAUSTEIN_LABELS,
    HUNDREDTH_FTE,
    FundingKey,
    KeyPart,
    Position,
    Share,
    check_allocation,
    percent,
    split,
)
from services.documents.domain.parsing import IsoDate, Model, Number, Text, located_error, parse, rule_error

BAUSTEIN_2_RATE_PER_FTE = Decimal("55000")
"""Fachbezogene Pauschale je VZÄ und Jahr for case management (Voerde seed, Förderrichtlinie KIM)."""

MAX_FTE_PER_PARTNER = Decimal(10)
"""More than ten positions at one partner is a typo in every Kreis we know (RBK: 7 in total)."""

RATE_RANGE = (Decimal(1000), Decimal(200000))
"""Plausible yearly amounts per VZÄ; catches `55.000` which YAML reads as 55.0."""

MONTH_COUNTS_FROM_DAYS = 15

PARTNER_KIND_LABELS = {"municipality": "Kommune", "welfare_org": "Träger der Freien Wohlfahrtspflege"}

FundingLaw = Literal["ANBest-G", "ANBest-P"]
DEFAULT_FUNDING_LAW: dict[str, FundingLaw] = {"municipality": "ANBest-G", "welfare_org": "ANBest-P"}
FUNDING_LAW_NAMES = {
    "ANBest-G": "Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gemeinden (GV) "
                "(ANBest-G)",
    "ANBest-P": "Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung (ANBest-P)",
}


@dataclass(frozen=True)
class DataProtectionLaw:
    """The law a partner is bound by, for § 6 and the annex of the contract."""

    key: str
    label: str
    short: str
    """The law named in clauses: "DSG NRW", "KDG", "DSG-EKD", "BDSG"."""
    laws: str
    supervision: str
    clauses: tuple[str, ...]


_SOCIAL_DATA = ("Sozialdaten, die der Partner von einem Sozialleistungsträger erhält, darf er nur zu dem "
                "Zweck verarbeiten, zu dem sie ihm übermittelt wurden (§ 78 SGB X).")
DATA_PROTECTION: dict[str, DataProtectionLaw] = {
    "kommune": DataProtectionLaw(
        "kommune", "Kommune", "DSG NRW",
        "Datenschutz-Grundverordnung (DSGVO), Datenschutzgesetz Nordrhein-Westfalen (DSG NRW) und "
        "Sozialdatenschutz nach § 35 SGB I und §§ 67 ff. SGB X",
        "die Landesbeauftragte für Datenschutz und Informationsfreiheit Nordrhein-Westfalen (LDI NRW)",
        ("Der Partner ist als öffentliche Stelle des Landes an die DSGVO und das DSG NRW gebunden; Daten "
         "der Fallarbeit sind Sozialdaten, für die § 35 SGB I und die §§ 67 ff. SGB X gelten.",)),
    "katholisch": DataProtectionLaw(
        "katholisch", "katholischer Träger (Caritas)", "KDG",
        "Gesetz über den Kirchlichen Datenschutz (KDG) der katholischen Kirche, das nach Art. 91 DSGVO "
        "an die Stelle der DSGVO tritt",
        "das Katholische Datenschutzzentrum (kirchliche Datenschutzaufsicht)",
        ("Der Partner ist als Einrichtung der katholischen Kirche an das KDG gebunden (Art. 91 DSGVO). "
         "Die Vertragsparteien stellen sicher, dass das Schutzniveau des KDG dem der DSGVO entspricht; "
         "Betroffenenrechte und Meldungen von Datenschutzverletzungen richten sich beim Partner nach dem "
         "KDG.", _SOCIAL_DATA)),
    "evangelisch": DataProtectionLaw(
        "evangelisch", "evangelischer Träger (Diakonie)", "DSG-EKD",
        "Kirchengesetz über den Datenschutz der Evangelischen Kirche in Deutschland (DSG-EKD), das nach "
        "Art. 91 DSGVO an die Stelle der DSGVO tritt",
        "der Beauftragte für den Datenschutz der EKD (kirchliche Datenschutzaufsicht)",
        ("Der Partner ist als Einrichtung der Diakonie an das DSG-EKD gebunden (Art. 91 DSGVO). Die "
         "Vertragsparteien stellen sicher, dass das Schutzniveau des DSG-EKD dem der DSGVO entspricht; "
         "Betroffenenrechte und Meldungen von Datenschutzverletzungen richten sich beim Partner nach dem "
         "DSG-EKD.", _SOCIAL_DATA)),
    "traeger": DataProtectionLaw(
        "traeger", "Träger der Freien Wohlfahrtspflege", "BDSG",
        "Datenschutz-Grundverordnung (DSGVO) und Bundesdatenschutzgesetz (BDSG)",
        "die Landesbeauftragte für Datenschutz und Informationsfreiheit Nordrhein-Westfalen (LDI NRW)",
        ("Der Partner ist als nichtöffentliche Stelle an die DSGVO und das BDSG gebunden.", _SOCIAL_DATA)),
}


class Kreis(Model):
    name: Text
    address: Text
    office: Text
    represented_by: Text


class Term(Model):
    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is None:
            return end
        if end < start:
            raise rule_error(
                f"Die Laufzeit endet ({formats.day(end)}) vor ihrem Beginn ({formats.day(start)})."
            )
        if counted_months(start, end) == 0:
            raise rule_error(
                f"Die Laufzeit umfasst keinen Monat mit mindestens {MONTH_COUNTS_FROM_DAYS} Tagen."
            )
        return end

    @property
    def months(self) -> int:
        return counted_months(self.start, self.end)


class Rates(Model):
    case_management_per_fte: Number
    kreis_topup_per_fte: Number = Decimal(0)
    coordination_per_fte: Number | None = None
    """Baustein 1, € per VZÄ and year; needed only when a Baustein 1 position is passed on."""
    immigration_office_per_fte: Number | None = None
    """Baustein 3, € per VZÄ and year (RBK: 25.000 € per half position, so 50000)."""

    @field_validator("case_management_per_fte", "coordination_per_fte", "immigration_office_per_fte")
    @classmethod
    def _plausible_rate(cls, rate: Decimal | None) -> Decimal | None:
        if rate is None:
            return None
        low, high = RATE_RANGE
        if not low <= rate <= high:
            raise rule_error(
                f"Unplausibler Betrag {formats.money(rate)} je VZÄ und Jahr; erwartet zwischen "
                f"{formats.money(low)} und {formats.money(high)} (Tausender ohne Punkt: 55000)."
            )
        return _cents(rate)

    @field_validator("kreis_topup_per_fte")
    @classmethod
    def _plausible_topup(cls, topup: Decimal) -> Decimal:
        if not 0 <= topup <= RATE_RANGE[1]:
            raise rule_error(
                f"Die Aufstockung muss zwischen 0 € und {formats.money(RATE_RANGE[1])} je VZÄ liegen."
            )
        return _cents(topup)

    def per_fte(self, baustein: int) -> Decimal | None:
        return {1: self.coordination_per_fte, 2: self.case_management_per_fte,
                3: self.immigration_office_per_fte}[baustein]


class Partner(Model):
    name: Text
    kind: Literal["municipality", "welfare_org"]
    address: Text
    church: Literal["katholisch", "evangelisch"] | None = None
    """A church Träger (Caritas, Katholische Jugendagentur: katholisch; Diakonie: evangelisch) is
    bound by the church's data-protection law, not by the DSGVO alone."""

    @field_validator("church")
    @classmethod
    def _church_only_for_traeger(cls, church: str | None, info: ValidationInfo) -> str | None:
        if church is not None and info.data.get("kind") == "municipality":
            raise rule_error("Eine Kommune ist keine kirchliche Stelle; „church“ gilt nur für Träger.")
        return church

    @property
    def data_protection(self) -> DataProtectionLaw:
        if self.kind == "municipality":
            return DATA_PROTECTION["kommune"]
        return DATA_PROTECTION[self.church or "traeger"]


class SharedPart(Model):
    """One Kommune's part of a shared position (Stellenteilung)."""

    municipality: Text
    fte: Number


class DeficitCover(Model):
    """Defizitübernahme: the Kreis covers the proven deficit of the position (eligible costs less
    the Pauschale and other income), up to `cap_per_year` if given, instead of a flat top-up."""

    cap_per_year: Number | None = None

    @field_validator("cap_per_year")
    @classmethod
    def _plausible_cap(cls, cap: Decimal | None) -> Decimal | None:
        if cap is not None and not 0 < cap <= RATE_RANGE[1] * MAX_FTE_PER_PARTNER:
            raise rule_error("Der Höchstbetrag der Defizitübernahme muss größer als 0 € sein "
                             "(Tausender ohne Punkt: 12000).")
        return None if cap is None else _cents(cap)


class Allocation(Model):
    partner: Partner
    baustein: Literal[1, 2, 3] = 2
    fte: Number
    shared_by: list[SharedPart] | None = None
    """Stellenteilung: the Kommunen sharing this position with their VZÄ (adding up to `fte`)."""
    # Validated even when absent: a Träger must say in which Kommune its positions work.
    municipality: Text | None = Field(default=None, validate_default=True)
    deficit_cover: DeficitCover | None = None

    @field_validator("municipality")
    @classmethod
    def _municipality_for_welfare_org(cls, municipality: str | None, info: ValidationInfo) -> str | None:
        partner = info.data.get("partner")
        if partner is not None and partner.kind == "welfare_org" and info.data.get("baustein", 2) != 2:
            raise rule_error(
                f"Stellen aus Baustein {info.data.get('baustein')} gehen nur an Kommunen (Baustein 1: "
                "koordinierende Stelle, Baustein 3: Ausländer- und Einbürgerungsbehörde), nicht an Träger.")
        if municipality is None and partner is not None and partner.kind == "welfare_org" \
                and not info.data.get("shared_by"):
            raise rule_error(
                "Für einen Träger ist die Kommune anzugeben, in der die Stellen eingesetzt werden."
            )
        return municipality

    @field_validator("fte")
    @classmethod
    def _plausible_fte(cls, fte: Decimal) -> Decimal:
        if fte <= 0:
            raise rule_error(f"Der Stellenanteil muss größer als 0 VZÄ sein (angegeben: {formats.fte(fte)}).")
        if fte > MAX_FTE_PER_PARTNER:
            raise rule_error(
                f"Unplausibler Stellenanteil {formats.fte(fte)} VZÄ; höchstens "
                f"{formats.fte(MAX_FTE_PER_PARTNER)} VZÄ je Partner."
            )
        if fte != fte.quantize(Decimal("0.01")):
            raise rule_error(
                "Den Stellenanteil bitte mit höchstens zwei Nachkommastellen angeben (z. B. 0,75)."
            )
        return fte

    @field_validator("shared_by")
    @classmethod
    def _sharing_adds_up(cls, parts: list[SharedPart] | None,
                         info: ValidationInfo) -> list[SharedPart] | None:
        if parts is None:
            return None
        if len(parts) < 2:
            raise rule_error("Eine Stellenteilung braucht mindestens zwei Kommunen.")
        names = [part.municipality for part in parts]
        if len(set(names)) != len(names):
            raise rule_error("Eine Kommune steht in der Stellenteilung mehrfach.")
        for part in parts:
            if part.fte <= 0 or part.fte != part.fte.quantize(HUNDREDTH_FTE):
                raise rule_error(f"Der Anteil von {part.municipality} muss größer als 0 VZÄ sein und "
                                 "höchstens zwei Nachkommastellen haben.")
        fte = info.data.get("fte")
        total = sum((part.fte for part in parts), Decimal(0))
        if fte is not None and total != fte:
            raise rule_error(f"Die Anteile der Stellenteilung ergeben {formats.fte(total)} VZÄ, "
                             "die Stelle hat "
                             f"{formats.fte(fte)} VZÄ.")
        return parts

    @property
    def place(self) -> str:
        """Where the positions work: the partner itself unless it is a Träger, or the Kommunen of
        a Stellenteilung."""
        if self.shared_by:
            return " / ".join(part.municipality for part in self.shared_by)
        return self.municipality or self.partner.name

    def names(self) -> list[str]:
        """The partner and the Kommunen it works in other than itself, for titles and file names:
        a Träger names its Kommune (one Träger, several places), a Stellenteilung the others."""
        return [self.partner.name] + [place for place, _ in self.per_municipality()
                                      if place != self.partner.name]

    def per_municipality(self) -> tuple[tuple[str, Decimal], ...]:
        if self.shared_by:
            return tuple((part.municipality, part.fte) for part in self.shared_by)
        return ((self.municipality or self.partner.name, self.fte),)


class GrantedFte(Model):
    """The VZÄ the Land granted the Kreis per Baustein (Zuwendungsbescheid)."""

    baustein_1: Number | None = None
    baustein_2: Number | None = None
    baustein_3: Number | None = None

    def as_dict(self) -> dict[int, Decimal]:
        given = {1: self.baustein_1, 2: self.baustein_2, 3: self.baustein_3}
        return {baustein: fte for baustein, fte in given.items() if fte is not None}


class KeyPartInput(Model):
    label: Text
    share: Share


class KeyInput(Model):
    """The Kreis's key (configuration): Wesel `kreis_share: 1/3`; RBK parts FlüAG 40 % / AWoV 60 %
    with, optionally, each Kommune's quota under each part."""

    label: Text
    kreis_share: Share = Fraction(0)
    parts: list[KeyPartInput] = Field(default_factory=list)
    quotas: dict[str, dict[str, Share]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parts_and_quotas_fit(self) -> KeyInput:
        problems: list[tuple[tuple[int | str, ...], str]] = []
        if self.parts and sum(part.share for part in self.parts) != 1:
            problems.append((("funding", "key", "parts"), "Die Teile des Schlüssels ergeben zusammen "
                             f"{percent(sum((p.share for p in self.parts), Fraction(0)))}, nicht 100 %."))
        labels = [part.label for part in self.parts]
        if self.quotas and not labels:
            problems.append((("funding", "key", "quotas"),
                             "Quoten brauchen die Teile des Schlüssels (parts)."))
        for place, quotas in self.quotas.items():
            if labels and sorted(quotas) != sorted(labels):
                problems.append((("funding", "key", "quotas", place),
                                 f"Für jeden Teil des Schlüssels eine Quote angeben: {', '.join(labels)}."))
        for label in labels:
            total = sum((quotas.get(label, Fraction(0)) for quotas in self.quotas.values()), Fraction(0))
            if total > 1:
                problems.append((("funding", "key", "quotas"),
                                 f"Die Quoten unter {label} ergeben zusammen {percent(total)}, "
                                 "mehr als 100 %."))
        if problems:
            raise located_error(problems)
        return self

    def key(self) -> FundingKey:
        labels = [part.label for part in self.parts]
        return FundingKey(
            self.label, self.kreis_share, tuple(KeyPart(p.label, p.share) for p in self.parts),
            tuple((place, tuple(quotas[label] for label in labels)) for place, quotas in self.quotas.items()))


class Funding(Model):
    """Funding law, granted VZÄ and key of the Kreis (all optional)."""

    law: dict[Literal["municipality", "welfare_org"], FundingLaw] = Field(default_factory=dict)
    """The Nebenbestimmungen per kind of partner; default ANBest-G for Kommunen, ANBest-P for Träger."""
    granted_fte: GrantedFte = Field(default_factory=GrantedFte)
    key: KeyInput | None = None

    def law_for(self, partner: Partner) -> FundingLaw:
        return self.law.get(partner.kind, DEFAULT_FUNDING_LAW[partner.kind])


class AllocationFile(Model):
    kreis: Kreis
    term: Term
    rates: Rates
    funding: Funding = Field(default_factory=Funding)
    allocations: list[Allocation] = Field(min_length=1)

    @field_validator("allocations")
    @classmethod
    def _one_contract_per_partner_and_place(cls, allocations: list[Allocation]) -> list[Allocation]:
        seen: set[tuple[str, str]] = set()
        for allocation in allocations:
            key = (allocation.partner.name, allocation.place)
            if key in seen:
                raise rule_error(
                    f"{allocation.partner.name} ist für {allocation.place} mehrfach eingetragen; "
                    "Stellenanteile bitte in einem Eintrag zusammenfassen."
                )
            seen.add(key)
        return allocations

    @model_validator(mode="after")
    def _allocations_fit_rates_grant_and_key(self) -> AllocationFile:
        problems: list[tuple[tuple[int | str, ...], str]] = []
        for index, allocation in enumerate(self.allocations):
            if self.rates.per_fte(allocation.baustein) is None:
                field = "coordination_per_fte" if allocation.baustein == 1 else "immigration_office_per_fte"
                problems.append((("allocations", index, "baustein"),
                                 f"Für Baustein {allocation.baustein} fehlt der Betrag je VZÄ und Jahr "
                                 f"(rates.{field})."))
        key = self.funding.key.key() if self.funding.key is not None else None
        positions = [Position(("allocations", i), a.baustein, a.fte, a.per_municipality())
                     for i, a in enumerate(self.allocations)]
        problems += check_allocation(self.funding.granted_fte.as_dict(), key, positions)
        if problems:
            raise located_error(problems)
        return self


@dataclass(frozen=True)
class ContractAmounts:
    fte: Decimal
    rate_per_fte: Decimal
    topup_per_fte: Decimal
    annual: Decimal
    months: int
    term: Decimal
    deficit_cap_annual: Decimal | None = None
    deficit_cap_term: Decimal | None = None


def parse_allocation_file(data: Any) -> AllocationFile:
    return parse(AllocationFile, data)


def counted_months(start: date, end: date) -> int:
    months, first = 0, start.replace(day=1)
    while first <= end:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        covered = (min(end, last) - max(start, first)).days + 1
        months += covered >= MONTH_COUNTS_FROM_DAYS
        first = last + timedelta(days=1)
    return months


def contract_amounts(rates: Rates, term: Term, fte: Decimal, baustein: int = 2,
                     deficit_cover: DeficitCover | None = None) -> ContractAmounts:
    """The flat top-up is paid for Baustein 2 only and never together with a Defizitübernahme,
    which replaces it."""
    rate = rates.per_fte(baustein)
    if rate is None:
        raise ValueError(f"no rate for Baustein {baustein}")
    topup = rates.kreis_topup_per_fte if baustein == 2 and deficit_cover is None else Decimal(0)
    annual = _cents(fte * (rate + topup))
    cap = deficit_cover.cap_per_year if deficit_cover is not None else None
    return ContractAmounts(
        fte=fte,
        rate_per_fte=rate,
        topup_per_fte=topup,
        annual=annual,
        months=term.months,
        term=_cents(annual * term.months / 12),
        deficit_cap_annual=cap,
        deficit_cap_term=None if cap is None else _cents(cap * term.months / 12),
    )


def allocation_amounts(allocations: AllocationFile, allocation: Allocation) -> ContractAmounts:
    return contract_amounts(allocations.rates, allocations.term, allocation.fte, allocation.baustein,
                            allocation.deficit_cover)


def contract_context(allocations: AllocationFile, allocation: Allocation) -> dict[str, Any]:
    """What a contract template may use; every value already in its German printed form."""
    amounts = allocation_amounts(allocations, allocation)
    kreis, term, partner = allocations.kreis, allocations.term, allocation.partner
    law = allocations.funding.law_for(partner)
    privacy = partner.data_protection
    key = allocations.funding.key.key() if allocations.funding.key is not None else None
    granted = allocations.funding.granted_fte.as_dict().get(allocation.baustein)
    sharing = []
    if allocation.shared_by:
        weights = [part.fte for part in allocation.shared_by]
        sharing = [{"municipality": part.municipality, "fte": formats.fte(part.fte),
                    "annual": formats.money(annual), "term": formats.money(for_term)}
                   for part, annual, for_term in zip(allocation.shared_by, split(amounts.annual, weights),
                                                     split(amounts.term, weights), strict=True)]
    return {
        "kreis": {
            "name": kreis.name,
            "address": kreis.address,
            "office": kreis.office,
            "represented_by": kreis.represented_by,
        },
        "partner": {
            "name": partner.name,
            "address": partner.address,
            "kind": PARTNER_KIND_LABELS[partner.kind],
            "is_welfare_org": partner.kind == "welfare_org",
            "is_municipality": partner.kind == "municipality",
        },
        "municipality": allocation.place,
        "baustein": {
            "number": str(allocation.baustein),
            "label": BAUSTEIN_LABELS[allocation.baustein],
            "is_coordination": allocation.baustein == 1,
            "is_case_management": allocation.baustein == 2,
            "is_immigration_office": allocation.baustein == 3,
        },
        "sharing": {"active": bool(sharing), "parts": sharing},
        "deficit": {
            "active": allocation.deficit_cover is not None,
            "has_cap": amounts.deficit_cap_annual is not None,
            "cap_annual": formats.money(amounts.deficit_cap_annual or Decimal(0)),
            "cap_term": formats.money(amounts.deficit_cap_term or Decimal(0)),
        },
        "funding_law": {"code": law, "name": FUNDING_LAW_NAMES[law], "is_anbest_g": law == "ANBest-G"},
        "data_protection": {
            "partner_kind": privacy.label,
            "short": privacy.short,
            "laws": privacy.laws,
            "supervision": privacy.supervision,
            "clauses": list(privacy.clauses),
            "is_church": privacy.key in ("katholisch", "evangelisch"),
        },
        "funding_key": {
            "active": key is not None,
            "description": key.description() if key is not None else "",
        },
        "granted": {"active": granted is not None, "fte": formats.fte(granted or Decimal(0))},
        "term": {
            "start": formats.day(term.start),
            "end": formats.day(term.end),
            "months": str(amounts.months),
            "is_full_year": amounts.months == 12,
        },
        "amounts": {
            "fte": formats.fte(amounts.fte),
            "rate_per_fte": formats.money(amounts.rate_per_fte),
            "topup_per_fte": formats.money(amounts.topup_per_fte),
            "has_topup": amounts.topup_per_fte > 0,
            "per_fte_total": formats.money(amounts.rate_per_fte + amounts.topup_per_fte),
            "annual": formats.money(amounts.annual),
            "term": formats.money(amounts.term),
        },
    }


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
