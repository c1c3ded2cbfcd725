"""The node's dead-letter store as tests read it (kimnetz.runtime.dead_letters, docs/events.md)."""

from __future__ import annotations

from kimnetz.runtime import dead_letters, node
from kimnetz.runtime.dead_letters import DeadLetter
from kimnetz.runtime.settings import Settings


def dead_letter_of(settings: Settings, event_id: str) -> DeadLetter | None:
    """The open entry of the event on the node of `settings`, or None."""
    node.connect(settings)
    return next((d for d in dead_letters.entries() if d.event_id == event_id), None)
