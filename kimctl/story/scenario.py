"""The story's scenario (scenario.yaml beside this module) as typed values: the organisations and
people who act, the fictional persons proposed, and what each step types in. Enum values are
read by name (without their prefix) into the proto enums' numbers, so a mistyped name fails
when the file is read, not half-way through a run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kim.case.v1 import types_pb2 as C
from kim.conference.v1 import types_pb2 as KT

SCENARIO_FILE = Path(__file__).with_name("scenario.yaml")


@dataclass(frozen=True)
class Actor:
    organization: str
    username: str
    name: str
    what: str


@dataclass(frozen=True)
class FictionalPerson:
    """A person of the story (fictional): what the case managers type in, and what must never
    leave the owning node."""

    given_name: str
    family_name: str
    birth_date: date
    country: str
    residence_kind: int
    legal_basis: str
    languages: tuple[str, ...]
    gender: int = 0
    entry_date: date | None = None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class Contact:
    """What every proposed person's record holds besides the `FictionalPerson`."""

    phone: str
    address: str
    household_adults: int
    household_children: int
    home_kommune_key: str = ""
    home_kommune_name: str = ""


@dataclass(frozen=True)
class Proposal:
    person: FictionalPerson
    owner: Actor
    reason: str
    handlungsfelder: tuple[int, ...]
    rechtskreise: tuple[int, ...]
    proposer_unit: str
    access_route: int = 0


@dataclass(frozen=True)
class Consent:
    kind: int
    purposes: tuple[int, ...]
    categories: tuple[int, ...]
    valid_days: int
    submit_note: str


@dataclass(frozen=True)
class Referral:
    target: int
    service: str
    reason: str


@dataclass(frozen=True)
class Fallkonferenz:
    starts_in_minutes: int
    place: str
    participants: tuple[tuple[Actor, int], ...]
    admitted_to: str
    admitted_case_manager: Actor
    referral: Referral


@dataclass(frozen=True)
class Need:
    handlungsfeld: int
    need: str
    resources: str
    priority: int


@dataclass(frozen=True)
class Goal:
    title: str
    handlungsfeld: int
    due_days: int


@dataclass(frozen=True)
class PlanStep:
    description: str
    responsible: str
    rechtskreis: int
    due_days: int


@dataclass(frozen=True)
class Barrier:
    rechtskreise: tuple[int, ...]
    category: int
    handlungsfeld: int
    description: str


@dataclass(frozen=True)
class Integrationsplan:
    need: Need
    goal: Goal
    step: PlanStep
    barrier: Barrier


@dataclass(frozen=True)
class Member:
    person: str
    name: str
    organisation: str
    function: str
    voting: bool


@dataclass(frozen=True)
class Vorlage:
    title: str
    wording: str
    rationale: str


@dataclass(frozen=True)
class Zielgruppe:
    key: str
    name: str
    description: str
    legal_bases: tuple[str, ...]


@dataclass(frozen=True)
class Lenkungsgruppe:
    name: str
    members: tuple[Member, ...]
    starts_in_minutes: int
    place: str
    due_days: int
    present: tuple[str, ...]
    mandate: Vorlage
    zielgruppen: Vorlage
    new_zielgruppe: Zielgruppe


@dataclass(frozen=True)
class Projektgruppe:
    name: str
    topic: int
    members: tuple[Actor, ...]


@dataclass(frozen=True)
class Contract:
    file: str
    allocation: dict[str, Any]


@dataclass(frozen=True)
class Documents:
    kreis_party: dict[str, Any]
    rates: dict[str, Any]
    contracts: tuple[Contract, ...]
    coordination_office: str
    signature_function: str
    session_issuer: str
    #: The Drucksache's input without its dates and number; `consultation` has `in_days`.
    drucksache: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    kreis: str
    stadt: str
    caritas: str
    abh: str
    actors: dict[str, Actor]
    persons: dict[str, FictionalPerson]
    contact: Contact
    proposals: dict[str, Proposal]
    consent: Consent
    fallkonferenz: Fallkonferenz
    integrationsplan: Integrationsplan
    lenkungsgruppe: Lenkungsgruppe
    projektgruppe: Projektgruppe
    documents: Documents
    revocation_reason: str


def enum_value(enum: Any, name: str) -> int:
    """The number of `name` in a proto enum, given without the enum's prefix
    ("DULDUNG" in ResidenceStatusKind -> RESIDENCE_STATUS_KIND_DULDUNG)."""
    prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum.DESCRIPTOR.name).upper() + "_"
    return int(enum.Value(prefix + name))


def _enums(enum: Any, names: list[str]) -> tuple[int, ...]:
    return tuple(enum_value(enum, n) for n in names)


def parse(data: dict[str, Any]) -> Scenario:
    """The scenario of a file's content (`yaml.safe_load`); KeyError/ValueError where it is
    incomplete or names what does not exist."""
    organisations: dict[str, str] = data["organisations"]

    def organisation(key: str) -> str:
        return organisations.get(key, key)  # a key of `organisations`, else a name as it stands

    actors = {key: Actor(organisation(a["organisation"]), a["username"], a["name"], a["what"])
              for key, a in data["actors"].items()}
    persons = {key: FictionalPerson(p["given_name"], p["family_name"], p["birth_date"], p["country"],
                                    enum_value(C.ResidenceStatusKind, p["residence"]), p["legal_basis"],
                                    tuple(p["languages"]),
                                    enum_value(C.Gender, p.get("gender", "UNSPECIFIED")), p.get("entry_date"))
               for key, p in data["persons"].items()}
    proposals = {key: Proposal(persons[p["person"]], actors[p["owner"]], p["reason"],
                               _enums(C.Handlungsfeld, p["handlungsfelder"]),
                               _enums(C.Rechtskreis, p["rechtskreise"]), p["proposer_unit"],
                               enum_value(C.AccessRoute, p.get("access_route", "UNSPECIFIED")))
                 for key, p in data["proposals"].items()}
    consent = data["consent"]
    konferenz = data["fallkonferenz"]
    plan = data["integrationsplan"]
    lenkung = data["lenkungsgruppe"]
    docs = data["documents"]
    return Scenario(
        kreis=organisations["kreis"], stadt=organisations["stadt"], caritas=organisations["caritas"],
        abh=organisations["abh"], actors=actors, persons=persons, contact=Contact(**data["contact"]),
        proposals=proposals,
        consent=Consent(enum_value(C.ConsentKind, consent["kind"]),
                        _enums(C.ConsentPurpose, consent["purposes"]),
                        _enums(C.DataCategory, consent["categories"]), consent["valid_days"],
                        consent["submit_note"]),
        fallkonferenz=Fallkonferenz(
            konferenz["starts_in_minutes"], konferenz["place"],
            tuple((actors[p["actor"]], enum_value(KT.ParticipantRole, p["role"]))
                  for p in konferenz["participants"]),
            organisation(konferenz["admission"]["assigned_org"]),
            actors[konferenz["admission"]["case_manager"]],
            Referral(enum_value(KT.ReferralTarget, konferenz["referral"]["target"]),
                     konferenz["referral"]["service"], konferenz["referral"]["reason"])),
        integrationsplan=Integrationsplan(
            Need(enum_value(C.Handlungsfeld, plan["need"]["handlungsfeld"]), plan["need"]["need"],
                 plan["need"]["resources"], enum_value(C.Priority, plan["need"]["priority"])),
            Goal(plan["goal"]["title"], enum_value(C.Handlungsfeld, plan["goal"]["handlungsfeld"]),
                 plan["goal"]["due_days"]),
            PlanStep(plan["step"]["description"], plan["step"]["responsible"],
                     enum_value(C.Rechtskreis, plan["step"]["rechtskreis"]), plan["step"]["due_days"]),
            Barrier(_enums(C.Rechtskreis, plan["barrier"]["rechtskreise"]),
                    enum_value(C.BarrierCategory, plan["barrier"]["category"]),
                    enum_value(C.Handlungsfeld, plan["barrier"]["handlungsfeld"]),
                    plan["barrier"]["description"])),
        lenkungsgruppe=Lenkungsgruppe(
            lenkung["name"],
            tuple(Member(m["person"], m["name"], organisation(m["organisation"]), m["function"],
                         bool(m["voting"])) for m in lenkung["members"]),
            lenkung["starts_in_minutes"], lenkung["place"], lenkung["due_days"],
            tuple(lenkung["present"]),
            Vorlage(**lenkung["mandate"]), Vorlage(**lenkung["zielgruppen"]),
            Zielgruppe(lenkung["new_zielgruppe"]["key"], lenkung["new_zielgruppe"]["name"],
                       lenkung["new_zielgruppe"]["description"],
                       tuple(lenkung["new_zielgruppe"]["legal_bases"]))),
        projektgruppe=Projektgruppe(
            data["projektgruppe"]["name"], enum_value(KT.Topic, data["projektgruppe"]["topic"]),
            tuple(actors[a] for a in data["projektgruppe"]["members"])),
        documents=Documents(
            docs["kreis_party"], docs["rates"],
            tuple(Contract(c["file"], c["allocation"]) for c in docs["contracts"]),
            docs["conference_protocol"]["coordination_office"],
            docs["conference_protocol"]["signature_function"], docs["session_protocol"]["issuer"],
            docs["drucksache"]),
        revocation_reason=data["revocation_reason"],
    )


@cache
def scenario(path: Path = SCENARIO_FILE) -> Scenario:
    """The scenario of `path` (default: the story's own), read once."""
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")))


# The story's own scenario by the names tests and benchmarks use.
_STORY = scenario()
KREIS, STADT, CARITAS, ABH = _STORY.kreis, _STORY.stadt, _STORY.caritas, _STORY.abh
STADT_CASE_MANAGER = _STORY.actors["stadt_case_manager"]
CARITAS_CASE_MANAGER = _STORY.actors["caritas_case_manager"]
COORDINATOR = _STORY.actors["coordinator"]
LIAISON = _STORY.actors["liaison"]
KREIS_CLERK = _STORY.actors["kreis_clerk"]
STADT_CLERK = _STORY.actors["stadt_clerk"]
STADT_PERSON = _STORY.persons["stadt"]
CARITAS_PERSON = _STORY.persons["caritas"]
PENDING_PERSON = _STORY.persons["pending"]
NEW_ZIELGRUPPE_KEY = _STORY.lenkungsgruppe.new_zielgruppe.key
NEW_ZIELGRUPPE_NAME = _STORY.lenkungsgruppe.new_zielgruppe.name
