"""The Lenkungsgruppe (gremium): its members with voting right and deputies.

The koordinierende Stelle runs the Geschäftsführung (coordinator: members, sessions, agenda,
attendance, declaring results); the members decide by Einvernehmen, or by majority where the
Geschäftsordnung says so (`DecisionRule`, sitzung.py); members with a voting right, or their
deputies, take part in the sessions; what they adopt is tracked to implementation (beschluss.py).

People are identified by organisation AND username (`PersonKey`), never by a bare username:
two users of different organisations may share one. A deputy stored without an organisation
(before deputies carried one) belongs to the represented member's organisation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from kimnetz.errors import NotFound
from kimnetz.validation import Violations
from services.conference.domain.vocabulary import DecisionRule


@dataclass(frozen=True, order=True)
class PersonKey:
    """Who a person is to the conference: organisation and username. (A small record, not a
    tuple: FerretDB stores no nested arrays.)"""

    organisation: str
    person: str


@dataclass(frozen=True)
class Deputy:
    person: str
    name: str
    #: Empty: of the represented member's organisation (deputies stored before the field).
    organisation: str = ""


@dataclass(frozen=True)
class Member:
    member_id: str
    person: str
    name: str
    organisation: str
    function: str
    voting: bool = True
    deputy: Deputy | None = None

    @property
    def key(self) -> PersonKey:
        return PersonKey(self.organisation, self.person)

    @property
    def deputy_key(self) -> PersonKey | None:
        if self.deputy is None:
            return None
        return PersonKey(self.deputy.organisation or self.organisation, self.deputy.person)

    def people(self) -> list[PersonKey]:
        """The member and, if named, the deputy."""
        return [self.key] + ([self.deputy_key] if self.deputy_key else [])


@dataclass
class Lenkungsgruppe:
    gremium_id: str
    coordination_org: str
    name: str
    members: list[Member] = field(default_factory=list)
    #: Einvernehmen unless the Geschäftsordnung (`rules_reference`) provides for majorities;
    #: a Lenkungsgruppe stored before the rule existed decides by Einvernehmen.
    decision_rule: DecisionRule = DecisionRule.CONSENSUS
    rules_reference: str = ""

    @classmethod
    def constitute(
        cls, *, coordination_org: str, name: str, gremium_id: str | None = None,
        decision_rule: DecisionRule = DecisionRule.CONSENSUS, rules_reference: str = "",
    ) -> Lenkungsgruppe:
        v = Violations()
        coordination_org = v.text("coordination_org", coordination_org, max_len=100)
        name = v.text("name", name, max_len=200)
        reference = v.text("rules_reference", rules_reference, required=False, max_len=200)
        if decision_rule is DecisionRule.MAJORITY and not reference:
            v.add("rules_reference", "Mehrheitsentscheidungen nur, wenn die Geschäftsordnung sie vorsieht: "
                  "bitte die Fundstelle angeben (z. B. „§ 4 Abs. 2 GO Lenkungsgruppe“).")
        v.raise_if_any("Die Lenkungsgruppe kann so nicht eingerichtet werden.")
        return cls(gremium_id or str(uuid.uuid4()), coordination_org, name,
                   decision_rule=decision_rule, rules_reference=reference)

    def member(self, member_id: str) -> Member:
        for m in self.members:
            if m.member_id == member_id:
                return m
        raise NotFound(f"Das Mitglied {member_id} gehört nicht zur Lenkungsgruppe.")

    def add_member(
        self,
        *,
        person: str,
        name: str,
        organisation: str,
        function: str,
        voting: bool = True,
        deputy: Deputy | None = None,
        member_id: str | None = None,
    ) -> Member:
        member = Member(
            member_id or str(uuid.uuid4()),
            person,
            name.strip(),
            organisation,
            function.strip(),
            voting,
            deputy,
        )
        self._check(member, others=self.members)
        self.members.append(member)
        return member

    def appoint_deputy(self, member_id: str, deputy: Deputy | None) -> Member:
        current = self.member(member_id)
        updated = replace(current, deputy=deputy)
        self._check(updated, others=[m for m in self.members if m.member_id != member_id])
        self.members[self.members.index(current)] = updated
        return updated

    def remove_member(self, member_id: str) -> None:
        self.members.remove(self.member(member_id))

    @staticmethod
    def _check(member: Member, others: list[Member]) -> None:
        v = Violations()
        v.text("person", member.person, max_len=200)
        v.text("name", member.name, max_len=200)
        v.text("organisation", member.organisation, max_len=100)
        v.text("function", member.function, max_len=200)
        taken = {key for m in others for key in m.people()}
        if member.key in taken:
            v.add(
                "person", "Diese Person gehört der Lenkungsgruppe bereits an (als Mitglied oder Vertretung)."
            )
        if member.deputy is not None:
            v.text("deputy.person", member.deputy.person, max_len=200)
            if member.deputy_key == member.key:
                v.add("deputy.person", "Ein Mitglied kann sich nicht selbst vertreten.")
            elif member.deputy_key in taken:
                v.add("deputy.person", "Diese Person gehört der Lenkungsgruppe bereits an.")
        v.raise_if_any("Das Mitglied kann so nicht aufgenommen werden.")
