"""The navigation by role. Each module in pages/ may declare `NAV`, a tuple of `NavItem`s; the
header shows the items whose roles the person holds (no roles: everyone). Showing is a
convenience only: the api decides every call."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: frozenset[str] = field(default_factory=frozenset)
    #: Position in the header (smaller first); the start page is 0.
    order: int = 50

    def visible_to(self, roles: frozenset[str]) -> bool:
        return not self.roles or bool(self.roles & roles)
