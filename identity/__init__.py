"""Identity: the development OIDC issuer, its signing keys, and the token verifier
every service uses (defence in depth behind the gateway)."""
