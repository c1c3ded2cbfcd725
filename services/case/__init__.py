"""The case service: Fälle: lifecycle, consent, assessment, Integrationsplan, barriers, audit, retention.

Imports no other service; shares only `kimnetz.runtime` and the contracts in `kim.<service>.v1`.
"""

SERVICE = "case"
