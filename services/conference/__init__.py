"""The conference service: Fallkonferenzen, Lenkungsgruppe, Projektgruppen, Beschlussverfolgung, Zielgruppen.

Imports no other service; shares only `kimnetz.runtime` and the contracts in `kim.<service>.v1`.
"""

SERVICE = "conference"
