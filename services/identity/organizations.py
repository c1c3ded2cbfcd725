"""Which organisations an api process lets in: those enabled in the node's copy of the
federation file. Handed to `TokenValidator(organizations=...)`, because Keycloak keeps a
disabled organisation in the tokens of its members until they expire."""

from __future__ import annotations

from collections.abc import Collection

from services.identity.domain import Federation


class FederationOrganizations:
    """Callable giving the enabled organisation aliases; `update` swaps in a re-read file."""

    def __init__(self, federation: Federation) -> None:
        self._aliases = frozenset(o.alias for o in federation.organizations)

    def update(self, federation: Federation) -> None:
        self._aliases = frozenset(o.alias for o in federation.organizations)

    def __call__(self) -> Collection[str]:
        return self._aliases
