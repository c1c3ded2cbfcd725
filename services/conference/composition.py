"""The conference's application services wired to one repository: what the api process
(api.py) and the worker (worker.py) build, each with the mongoengine adapter, and what the unit
tests build with the in-memory fake (tests/support/fakes/conference.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.conference.application import Clock, utc_now
from services.conference.barrierenregister import Barrierenregister
from services.conference.beschlussverfolgung import Beschlussverfolgung
from services.conference.domain.fallkonferenz import REVIEW_INTERVAL_MONTHS
from services.conference.domain.ports import ConferenceRepository
from services.conference.fallkonferenzen import Fallkonferenzen
from services.conference.fallvorschlaege import Fallvorschlaege
from services.conference.lenkungsgruppen import Lenkungsgruppen
from services.conference.loeschersuchen import Loeschersuchen
from services.conference.projektgruppen import Projektgruppen
from services.conference.sitzungen import Sitzungen


@dataclass(frozen=True)
class ConferenceServices:
    fallkonferenzen: Fallkonferenzen
    lenkungsgruppen: Lenkungsgruppen
    sitzungen: Sitzungen
    beschlussverfolgung: Beschlussverfolgung
    projektgruppen: Projektgruppen
    barrierenregister: Barrierenregister
    fallvorschlaege: Fallvorschlaege
    loeschersuchen: Loeschersuchen


def conference_services(
    repository: ConferenceRepository, *, node_id: str, register_org: str, clock: Clock = utc_now,
    review_interval_months: int = REVIEW_INTERVAL_MONTHS,
) -> ConferenceServices:
    """`node_id`: this node; `register_org`: its koordinierende Stelle (operating organisation);
    `review_interval_months`: how far ahead an agenda takes due reviews when no later
    Fallkonferenz is planned (docs/conference.md, „Quarterly reviews“)."""
    r = repository
    return ConferenceServices(
        fallkonferenzen=Fallkonferenzen(r, clock=clock, review_interval_months=review_interval_months),
        lenkungsgruppen=Lenkungsgruppen(r, register_org=register_org),
        sitzungen=Sitzungen(r, r, r, r, clock=clock),
        beschlussverfolgung=Beschlussverfolgung(r, r, clock=clock),
        projektgruppen=Projektgruppen(r, r, register_org=register_org, clock=clock),
        barrierenregister=Barrierenregister(r, r, register_org=register_org),
        fallvorschlaege=Fallvorschlaege(r, r, r, node_id=node_id),
        loeschersuchen=Loeschersuchen(r, r, r, register_org=register_org, node_id=node_id, clock=clock),
    )
