"""The operators' console: server-rendered pages (Jinja2, htmx) over the services' own
APIs and metrics, behind the OIDC sign-in; it owns no data."""
