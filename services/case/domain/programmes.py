"""The programmes next to KIM that serve people a Zielgruppe misses by age (RBK seed, 5.1-5.3).

Data, not code: each programme with its age bounds in completed years (stated in words by
`kimnetz.vocabulary.age_boundary_words`), the residence kinds it requires, and the German hint a
Fallkonferenz reads when a person misses a Zielgruppe by age alone:

- „Durchstarten in Ausbildung und Arbeit“ (Teilhabemanagement): Geduldete and Gestattete „im
  Alter von 18 bis 27 Jahren“;
- Jugendmigrationsdienst (JMD): „jungen eingewanderten Menschen im Alter von 12 bis 27 Jahren“;
- Migrationsberatung für erwachsene Zuwanderer (MBE): „erwachsene Zuwanderer über 27 Jahren“.

"bis 27" and "über 27" are read as completed years here (27 is the last year of JMD and
Durchstarten, MBE starts at 28), so the programmes meet without gap or overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kimnetz.vocabulary import ReferralTarget, ResidenceStatusKind, age_boundary_words
from services.case.domain.person import Person


@dataclass(frozen=True)
class Programme:
    key: str
    name: str
    audience: str
    min_age: int | None = None
    max_age: int | None = None
    residence_kinds: tuple[ResidenceStatusKind, ...] = ()
    referral_target: ReferralTarget = ReferralTarget.OTHER

    def covers(self, person: Person, on: date) -> bool:
        age = person.age_on(on)
        if self.min_age is not None and age < self.min_age:
            return False
        if self.max_age is not None and age > self.max_age:
            return False
        return not self.residence_kinds or person.residence.kind in self.residence_kinds

    @property
    def hint(self) -> str:
        words = age_boundary_words(self.min_age, self.max_age)
        return (f"Hinweis: {self.name} richtet sich an {self.audience} ({words}); "
                "eine Verweisberatung dorthin prüfen.")


PROGRAMMES: tuple[Programme, ...] = (
    Programme(
        key="durchstarten", name="„Durchstarten in Ausbildung und Arbeit“ (Teilhabemanagement)",
        audience="Geduldete und Gestattete von 18 bis 27 Jahren", min_age=18, max_age=27,
        residence_kinds=(ResidenceStatusKind.DULDUNG, ResidenceStatusKind.AUFENTHALTSGESTATTUNG),
        referral_target=ReferralTarget.TEILHABEMANAGEMENT,
    ),
    Programme(
        key="jmd", name="der Jugendmigrationsdienst (JMD)",
        audience="junge Zugewanderte von 12 bis 27 Jahren", min_age=12, max_age=27,
        referral_target=ReferralTarget.JMD,
    ),
    Programme(
        key="mbe", name="die Migrationsberatung für erwachsene Zuwanderer (MBE)",
        audience="erwachsene Zugewanderte über 27 Jahren", min_age=28,
        referral_target=ReferralTarget.MBE,
    ),
)


def programmes_for(person: Person, on: date,
                   programmes: tuple[Programme, ...] = PROGRAMMES) -> tuple[Programme, ...]:
    return tuple(p for p in programmes if p.covers(person, on))
