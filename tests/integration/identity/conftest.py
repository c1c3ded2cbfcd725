"""Integration tier of the identity service: the REAL local Keycloak (brokered logins through
home realms with HTML forms and redirects, admin API), nothing faked. Each session applies the
local federation under unique realm names and deletes them afterwards; a missing Keycloak
fails the tests with `make infra-up` as the hint.

The fixtures live in tests/support/identity.py so other services' tests can use them too.
"""

from tests.support.identity import federation_validator, local_federation, token_for  # noqa: F401
