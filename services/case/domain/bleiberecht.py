"""What the AufenthG asks before a status can be "improved" towards § 25a or § 25b.

Mettmann's Zielgruppe (Hilden seed) are people "die nach §§ 25a, 25b AufenthG berechtigt sind,
ihren Aufenthaltsstatus zu verbessern": the Bleiberecht is a path, not a status already held.
The conditions checked here are the ones the data of a Fallvorschlag can show; the others
(years of Duldung, schooling, livelihood) stay with the Ausländerbehörde:

- a person who already holds the intended basis cannot improve towards it;
- § 25a Abs. 1 Satz 1 Nr. 3: the application is made before the 27th birthday (the day of the
  application if it is recorded, else the day of the check: it cannot be made earlier);
- § 25a Abs. 1, § 25a Abs. 2 and § 25b Abs. 1: the person is geduldet or holds an
  Aufenthaltserlaubnis nach § 104c (Chancen-Aufenthaltsrecht).
"""

from __future__ import annotations

from datetime import date

from kimnetz.validation import format_date
from kimnetz.vocabulary import LegalBasis, ResidenceStatusKind
from services.case.domain.person import Person, age_on, birthday

#: § 25a Abs. 1 Satz 1 Nr. 3 AufenthG: "der Antrag ... vor Vollendung des 27. Lebensjahres".
AGE_LIMIT_25A = 27

_BLEIBERECHT = (LegalBasis.AUFENTHG_25A, LegalBasis.AUFENTHG_25A_2, LegalBasis.AUFENTHG_25B)


def improvement_obstacles(person: Person, intended: LegalBasis, on: date) -> tuple[str, ...]:
    """German reasons why `person` cannot improve her status towards `intended` as of `on`
    (empty: nothing in the data stands in the way)."""
    reasons: list[str] = []
    held = person.residence.current
    if held is intended:
        reasons.append(f"Besitzt bereits einen Aufenthaltstitel nach {held.label}; eine "
                       f"Verbesserung nach {intended.label} ist nicht mehr möglich.")
        return tuple(reasons)
    if intended in _BLEIBERECHT and not (
            person.residence.kind is ResidenceStatusKind.DULDUNG or held is LegalBasis.AUFENTHG_104C):
        reasons.append(f"{intended.label} setzt eine Duldung oder eine Aufenthaltserlaubnis nach "
                       f"§ 104c AufenthG voraus; angegeben ist „{person.residence.kind.label}“.")
    if intended is LegalBasis.AUFENTHG_25A:
        applied = person.residence.prospective_applied_on
        day = applied or on
        limit = birthday(person.birth_date, AGE_LIMIT_25A)
        if day >= limit:
            when = (f"der Antrag wurde am {format_date(applied)} gestellt" if applied
                    else f"ein Antrag ist frühestens heute ({format_date(on)}) möglich, "
                         f"im Alter von {age_on(person.birth_date, on)} Jahren")
            reasons.append(
                f"Für {intended.label} muss der Antrag vor dem 27. Geburtstag gestellt werden "
                f"(§ 25a Abs. 1 Satz 1 Nr. 3 AufenthG), hier vor dem {format_date(limit)}; {when}.")
    return tuple(reasons)
