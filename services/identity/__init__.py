"""The identity service: Keycloak realm-as-code, token validation, node directory and trust.

Imports no other service; shares only `kimnetz.runtime` and the contracts in `kim.<service>.v1`.
"""

SERVICE = "identity"
