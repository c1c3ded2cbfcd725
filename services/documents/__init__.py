"""The documents service: DOCX templates, Kooperations-/Weiterleitungsverträge, Drucksachen,
Protokolle, Berichte.

Imports no other service; shares only `kimnetz.runtime` and the contracts in `kim.<service>.v1`.
"""

SERVICE = "documents"
