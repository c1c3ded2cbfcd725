"""Who signs an organisation's Drucksachen, as the service layer sees it (the settings'
`Signatory` satisfies it): the Landrat, the Bürgermeisterin, a Dezernent, with name."""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def function(self) -> str: ...
