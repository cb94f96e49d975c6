"""The development issuer's login form, and its page for a request it refuses: small,
readable HTML, escaped by Jinja2."""

from __future__ import annotations

from jinja2 import Environment

from identity.authorization_requests import AuthorizationRequest
from identity.roles import PERSON_ROLES

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1b1f24}
main{max-width:24rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:8px;
border:1px solid #d0d7de}
label{display:block;margin-top:1rem;font-weight:600}
input,select,button{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem}
button{margin-top:1.5rem;background:#0b5cad;color:#fff;border:0;border-radius:6px}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.error{color:#a40e26}
"""
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}: Paystream development issuer</title><style>{{ style }}</style></head>
<body><main>
<h1>{{ title }}</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
{% if request %}
<p>The development issuer signs anyone in, as the name and role chosen here.</p>
<form method="post" action="authorize">
{% for name, value in request.hidden_fields().items() %}
<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
<label for="subject">Name</label>
<input id="subject" name="subject" required autofocus autocomplete="username" maxlength="128">
<label for="role">Role</label>
<select id="role" name="role">{% for role in roles %}
<option value="{{ role }}">{{ role }}</option>{% endfor %}</select>
<button type="submit">Sign in</button>
</form>
{% endif %}
</main></body></html>
"""
TEMPLATE = Environment(autoescape=True).from_string(PAGE)


def login_form(request: AuthorizationRequest, error: str = "") -> str:
    """The form a person signs in with: a name and one of the persons' roles."""
    return TEMPLATE.render(
        title="Sign in", style=STYLE, request=request, roles=PERSON_ROLES, error=error
    )


def refusal_page(reason: str) -> str:
    """Why the issuer will not sign anyone in for this request (never redirected back)."""
    return TEMPLATE.render(title="Sign-in refused", style=STYLE, request=None, error=reason)
