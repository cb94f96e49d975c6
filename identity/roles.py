"""The roles a token carries in its top-level `roles` claim.

A real identity provider must put them there: Keycloak, for one, needs a protocol
mapper that maps the user's realm roles to a top-level, multivalued `roles` claim
(its default is `realm_access.roles`, which this code does not read).
"""

from __future__ import annotations

ROLES_CLAIM = "roles"

CUSTOMER = "customer"
TELLER = "teller"
OPERATOR = "operator"
AUDITOR = "auditor"
# A service identity (client credentials): its client id is in `azp` and `client_id`.
SERVICE = "service"

PERSON_ROLES = (CUSTOMER, TELLER, OPERATOR, AUDITOR)
ROLES = (*PERSON_ROLES, SERVICE)
