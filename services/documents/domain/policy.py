"""Who may do what with documents (realm roles, DOMAIN.md): the clerk (Verwaltung/Ratsbüro)
writes contracts and Drucksachen, the coordinator the Protokolle; Drucksachen and the
Monitoringbericht on the KIM figures are written by both (the Koordination drafts the
Mitteilungsvorlage for the Sozialausschuss, the Verwaltung the report for the Kreistag), and both
roles read the suppressed figures in the case service. Who works cases prints the
Einwilligungserklärung a person signs. The node_admin uploads an organisation's
templates. Reading is by organisation: everybody
may read the documents of the organisation they act for, nobody those of another.
"""

from __future__ import annotations

RENDER_ROLES: dict[str, tuple[str, ...]] = {
    "contract": ("clerk",),
    "drucksache": ("clerk", "coordinator"),
    "fallkonferenz_protokoll": ("coordinator",),
    "lenkungsgruppe_protokoll": ("coordinator",),
    "monitoringbericht": ("coordinator", "clerk"),
    # The Fallmanagement prints the declaration its person signs before the consent is recorded.
    "einwilligungserklaerung": ("case_manager", "coordinator", "immigration_liaison"),
}
TEMPLATE_ROLES: tuple[str, ...] = ("node_admin",)


def template_readers(kind: str) -> tuple[str, ...]:
    """Who may see a kind's template versions: its authors and those who render with them."""
    return (*TEMPLATE_ROLES, *RENDER_ROLES[kind])
