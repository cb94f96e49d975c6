"""Each service's database role reaches its own data and what it is granted; nothing else.

The matrix of roles and schemas is built from the code, so a new context, read model
or query API is covered the day it is registered:

- a context role (eventstore.contexts.CONTEXTS) owns its context's schema;
- a projector role (projections.registry.PROJECTIONS) owns its read model's schemas (the
  stable one readers use and the active build) and may SELECT its sources' events
  tables, and no other table of those schemas;
- a query API role (api.query_registry.QUERY_APIS) may SELECT the tables and views of
  its read models' stable schemas, and nothing else;
- a role granted personal data (scripts/provision.py's PERSONAL_DATA_READERS), and the
  personal-data role itself, may read, add and update the key tables of `personal_data`,
  never delete or truncate; every other role is refused there;
- no service role owns or may touch `paystream_builds` (its `owners` table decides which
  build schemas a projector role may create): only its function may be called, and only
  by a projector role.

Each case is one role, one schema, one action, tried on every table of the schema the
database holds (listed by the administrator from information_schema, so a table the
code adds later is covered too); a failure names each table where the outcome was not
the expected one. Every refusal must be InsufficientPrivilege. Every statement runs in
a transaction that is rolled back, so the data stays as provisioned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from api.query_registry import QUERY_APIS
from eventstore import operator_log
from eventstore.contexts import CONTEXTS
from eventstore.personal_data import schema as personal_data
from eventstore.roles import BUILDS_SCHEMA
from projections.registry import PROJECTIONS
from scripts.provision import PERSONAL_DATA_READERS
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

SELECT, INSERT, UPDATE, DELETE, TRUNCATE = "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"
CREATE, NEXTVAL = "CREATE", "NEXTVAL"
TABLE_ACTIONS = (SELECT, INSERT, UPDATE, DELETE, TRUNCATE)
# What an owner is shown to do on its own tables (no service needs TRUNCATE).
OWNER_ACTIONS = (SELECT, INSERT, UPDATE, DELETE)
PUBLIC = "public"
TEMP = "pg_temp"
DATABASE = "database"  # CREATE on the database: new schemas

CONTEXT_SCHEMAS = frozenset(context.schema for context in CONTEXTS.values())
ADMINISTRATOR = "the administrator"  # owns what no service may change
# Who owns each schema the services use.
SERVICE_OWNERS: dict[str, str] = {
    **{context.schema: context.role for context in CONTEXTS.values()},
    **{p.read_schema(): p.role() for p in PROJECTIONS.values()},
    **{p.versioned_schema(): p.role() for p in PROJECTIONS.values()},
}
OWNERS: dict[str, str] = {
    **SERVICE_OWNERS,
    BUILDS_SCHEMA: ADMINISTRATOR,
    operator_log.SCHEMA: ADMINISTRATOR,
    personal_data.SCHEMA: ADMINISTRATOR,
}
KEY_TABLES = frozenset({personal_data.SCHEMA})
KEY_ACTIONS = (SELECT, INSERT, UPDATE)  # a data key is destroyed by an update, never deleted


def keys_if_granted(role: str) -> frozenset[str]:
    return KEY_TABLES if role in PERSONAL_DATA_READERS else frozenset()


@dataclass(frozen=True)
class Role:
    """A service's database role, and what it may read beyond what it owns."""

    name: str
    reads_schemas: frozenset[str] = frozenset()  # SELECT on every table and view
    reads_tables: frozenset[tuple[str, str]] = frozenset()  # SELECT on these only
    appends_tables: frozenset[tuple[str, str]] = frozenset()  # SELECT and INSERT only
    uses_schemas: frozenset[str] = frozenset()  # KEY_ACTIONS on every table
    creates_schemas: bool = False  # CREATE on the database (a projector's new builds)


ROLES: tuple[Role, ...] = (
    *(
        Role(context.role, uses_schemas=keys_if_granted(context.role))
        for context in CONTEXTS.values()
    ),
    *(
        Role(
            p.role(),
            reads_tables=frozenset((s.schema, s.events_table) for s in p.sources),
            creates_schemas=True,
            uses_schemas=keys_if_granted(p.role()),
        )
        for p in PROJECTIONS.values()
    ),
    *(
        Role(api.role, reads_schemas=frozenset(p.read_schema() for p in api.projections))
        for api in QUERY_APIS.values()
    ),
    # A relay publishes the stored bytes: it reads its context's events, and no key.
    *(
        Role(context.relay_role, reads_tables=frozenset({(context.schema, context.events_table)}))
        for context in CONTEXTS.values()
    ),
    # The operator log: the CLI (and the console) add rows and read them, never change one.
    Role(operator_log.ROLE, appends_tables=frozenset({(operator_log.SCHEMA, operator_log.TABLE)})),
    # The data keys: the CLI's role for the keys (a rotation), and what readers are granted.
    Role(personal_data.ROLE, uses_schemas=KEY_TABLES),
)


@dataclass(frozen=True)
class Attempt:
    """One role trying one action in one schema: on `table` alone, or on every table of
    the schema (but `table`, when `but` is set)."""

    role: str
    action: str
    schema: str
    table: str | None = None
    but: bool = False

    @property
    def id(self) -> str:
        if self.action == CREATE or self.schema == DATABASE:
            target = self.schema
        elif self.table is None:
            target = f"{self.schema}.*"
        elif self.but:
            target = f"{self.schema}.*-{self.table}"
        else:
            target = f"{self.schema}.{self.table}"
        return f"{self.role}->{target}:{self.action}"

    def covers(self, table: str) -> bool:
        if self.table is None:
            return True
        return (table != self.table) if self.but else (table == self.table)


def _attempts() -> tuple[list[Attempt], list[Attempt]]:
    """Every attempt of the matrix: (refused, allowed)."""
    refused: list[Attempt] = []
    allowed: list[Attempt] = []
    for role in ROLES:
        for schema, owner in OWNERS.items():
            owned = owner == role.name
            for action in TABLE_ACTIONS:
                granted = [t for s, t in sorted(role.reads_tables) if s == schema]
                appended = [t for s, t in sorted(role.appends_tables) if s == schema]
                if owned:
                    if action in OWNER_ACTIONS:
                        allowed.append(Attempt(role.name, action, schema))
                elif (action in KEY_ACTIONS and schema in role.uses_schemas) or (
                    action == SELECT and schema in role.reads_schemas
                ):
                    allowed.append(Attempt(role.name, action, schema))
                elif action in (SELECT, INSERT) and appended:
                    (table,) = appended  # the log's schema holds that one table
                    allowed.append(Attempt(role.name, action, schema, table))
                elif action == SELECT and granted:
                    (table,) = granted  # one events table per context schema
                    allowed.append(Attempt(role.name, action, schema, table))
                    refused.append(Attempt(role.name, action, schema, table, but=True))
                else:
                    refused.append(Attempt(role.name, action, schema))
            if schema in CONTEXT_SCHEMAS and not owned:
                refused.append(Attempt(role.name, NEXTVAL, schema))
            (allowed if owned else refused).append(Attempt(role.name, CREATE, schema))
        refused.append(Attempt(role.name, CREATE, PUBLIC))
        refused.append(Attempt(role.name, CREATE, TEMP))
        if not role.creates_schemas:
            refused.append(Attempt(role.name, CREATE, DATABASE))
    return refused, allowed


REFUSED, ALLOWED = _attempts()


@dataclass(frozen=True)
class Relation:
    name: str
    is_table: bool  # a base table (TRUNCATE applies), else a view
    column: str  # a plain column (not identity, not generated), for INSERT and UPDATE


@dataclass(frozen=True)
class Catalog:
    """What the database holds, as the administrator sees it."""

    schemas: set[str]
    relations: dict[str, list[Relation]]
    sequences: dict[str, list[str]]
    holders: set[str]  # roles owning or granted anything in the services' schemas


@pytest.fixture(scope="module")
def catalog(stack: Stack) -> Catalog:
    ours = sorted(SERVICE_OWNERS)
    with stack.admin() as conn:
        schemas = {
            str(name)
            for (name,) in conn.execute(
                "SELECT schema_name FROM information_schema.schemata"
                " WHERE schema_name NOT LIKE 'pg\\_%' AND schema_name <> 'information_schema'"
            )
        }
        relations: dict[str, list[Relation]] = {schema: [] for schema in schemas}
        for schema, table, table_type, column in conn.execute(
            "SELECT t.table_schema, t.table_name, t.table_type,"
            " (SELECT c.column_name FROM information_schema.columns c"
            "   WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name"
            "   AND c.is_identity = 'NO' AND c.is_generated = 'NEVER'"
            "   ORDER BY c.ordinal_position LIMIT 1)"
            " FROM information_schema.tables t WHERE t.table_schema = ANY(%s)"
            " ORDER BY t.table_schema, t.table_name",
            (sorted(schemas),),
        ):
            relations[schema].append(Relation(table, table_type == "BASE TABLE", column))
        sequences: dict[str, list[str]] = {schema: [] for schema in schemas}
        for schema, sequence in conn.execute(
            "SELECT sequence_schema, sequence_name FROM information_schema.sequences"
            " WHERE sequence_schema = ANY(%s)",
            (sorted(schemas),),
        ):
            sequences[schema].append(sequence)
        holders = {
            str(name)
            for (name,) in conn.execute(
                "SELECT DISTINCT COALESCE(r.rolname, 'PUBLIC') FROM ("
                "  SELECT n.nspowner AS holder FROM pg_namespace n WHERE n.nspname = ANY(%(s)s)"
                "  UNION SELECT (aclexplode(n.nspacl)).grantee FROM pg_namespace n"
                "   WHERE n.nspname = ANY(%(s)s)"
                "  UNION SELECT c.relowner FROM pg_class c"
                "   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(s)s)"
                "  UNION SELECT (aclexplode(c.relacl)).grantee FROM pg_class c"
                "   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(s)s)"
                ") AS held LEFT JOIN pg_roles r ON r.oid = held.holder",
                {"s": ours},
            )
        }
    return Catalog(schemas, relations, sequences, holders)


class RoleConnections:
    """One connection per role, opened on first use."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.opened: dict[str, psycopg.Connection[Any]] = {}

    def __getitem__(self, role: str) -> psycopg.Connection[Any]:
        if role not in self.opened:
            conninfo = self.stack.db.role_conninfo(role)
            self.opened[role] = psycopg.connect(conninfo, autocommit=True)
        return self.opened[role]

    def close(self) -> None:
        for conn in self.opened.values():
            conn.close()


@pytest.fixture(scope="module")
def connections(stack: Stack) -> Iterator[RoleConnections]:
    opened = RoleConnections(stack)
    yield opened
    opened.close()


def statements(attempt: Attempt, catalog: Catalog) -> dict[str, sql.Composed]:
    """The SQL of an attempt by what it is tried on: each statement needs only the
    privilege it is named after (no column is read, no row is touched)."""
    ident = sql.Identifier
    schema = ident(attempt.schema)
    if attempt.schema == DATABASE:
        return {DATABASE: sql.SQL("CREATE SCHEMA intruder").format()}
    if attempt.action == CREATE:
        if attempt.schema == TEMP:
            return {TEMP: sql.SQL("CREATE TEMPORARY TABLE intruder (x int)").format()}
        return {attempt.schema: sql.SQL("CREATE TABLE {}.intruder (x int)").format(schema)}
    if attempt.action == NEXTVAL:
        return {
            f"{attempt.schema}.{name}": sql.SQL("SELECT nextval({})").format(
                sql.Literal(f"{attempt.schema}.{name}")
            )
            for name in catalog.sequences[attempt.schema]
        }
    templates = {
        SELECT: "SELECT count(*) FROM {target}",
        INSERT: "INSERT INTO {target} ({column}) SELECT NULL WHERE false",
        UPDATE: "UPDATE {target} SET {column} = DEFAULT WHERE false",
        DELETE: "DELETE FROM {target} WHERE false",
        TRUNCATE: "TRUNCATE {target}",
    }
    return {
        f"{attempt.schema}.{relation.name}": sql.SQL(templates[attempt.action]).format(
            target=sql.SQL("{}.{}").format(schema, ident(relation.name)),
            column=ident(relation.column),
        )
        for relation in catalog.relations[attempt.schema]
        if attempt.covers(relation.name) and (relation.is_table or attempt.action != TRUNCATE)
    }


def outcome(
    conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed, params: tuple[object, ...] = ()
) -> str:
    """What running `query` came to (allowed, refused or an unexpected error); always
    rolled back."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(query, params or None)
    except errors.InsufficientPrivilege:
        return "refused"
    except psycopg.Error as error:
        return f"failed with {type(error).__name__}: {error}"
    return "allowed"


def check(attempt: Attempt, expected: str, catalog: Catalog, connections: RoleConnections) -> None:
    """Run the attempt on each table it covers; name every one with another outcome."""
    queries = statements(attempt, catalog)
    assert queries, f"{attempt.id}: nothing to try it on (the schema holds no such table)"
    conn = connections[attempt.role]
    wrong = [
        f"{attempt.role}->{target}:{attempt.action} {result}"
        for target, query in queries.items()
        if (result := outcome(conn, query)) != expected
    ]
    assert not wrong, f"expected {expected}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("attempt", REFUSED, ids=[a.id for a in REFUSED])
def test_a_role_is_refused_outside_its_own_data(
    catalog: Catalog, connections: RoleConnections, attempt: Attempt
) -> None:
    check(attempt, "refused", catalog, connections)


@pytest.mark.parametrize("attempt", ALLOWED, ids=[a.id for a in ALLOWED])
def test_a_role_reaches_what_it_owns_and_is_granted(
    catalog: Catalog, connections: RoleConnections, attempt: Attempt
) -> None:
    check(attempt, "allowed", catalog, connections)


def test_the_matrix_covers_every_schema_of_the_database(catalog: Catalog) -> None:
    assert catalog.schemas == {*OWNERS, PUBLIC}
    assert [r.name for r in catalog.relations[BUILDS_SCHEMA]] == ["owners"]
    assert [r.name for r in catalog.relations[operator_log.SCHEMA]] == [operator_log.TABLE]
    assert [r.name for r in catalog.relations[personal_data.SCHEMA]] == sorted(personal_data.TABLES)
    assert catalog.relations[PUBLIC] == []
    for context in CONTEXTS.values():
        assert catalog.sequences[context.schema], context.schema  # the events' positions


def test_only_the_matrix_roles_hold_anything_in_the_service_schemas(catalog: Catalog) -> None:
    # The log's and the keys' roles hold only their own tables.
    services = {role.name for role in ROLES} - {operator_log.ROLE, personal_data.ROLE}
    assert catalog.holders == services


def test_every_role_is_tried_on_every_schema_it_does_not_own() -> None:
    services = 2 * len(CONTEXTS) + len(PROJECTIONS) + len(QUERY_APIS)  # a relay each
    assert len({role.name for role in ROLES}) == services + 2  # the log's, the keys'
    assert ADMINISTRATOR not in {role.name for role in ROLES}
    tried = {
        (a.role, a.schema) for a in REFUSED if a.action in (INSERT, CREATE) and a.schema != DATABASE
    }
    assert tried == {
        (role.name, schema)
        for role in ROLES
        for schema in (*OWNERS, PUBLIC, TEMP)
        if OWNERS.get(schema) != role.name
    }


def test_a_projector_cannot_create_a_schema_for_another_read_model(
    connections: RoleConnections,
) -> None:
    wrong = []
    for squatter in PROJECTIONS.values():
        conn = connections[squatter.role()]
        for victim in PROJECTIONS.values():
            if victim is squatter:
                continue
            name = sql.Identifier(f"{victim.versioned_schema()}_20991231235959")
            result = outcome(conn, sql.SQL("CREATE SCHEMA {}").format(name))
            if result != "refused":
                wrong.append(f"{squatter.role()} may create schema {name.as_string()}: {result}")
    assert not wrong, "\n".join(wrong)


def test_a_projector_creates_build_schemas_for_its_own_read_model_only(
    connections: RoleConnections,
) -> None:
    create = sql.SQL("SELECT paystream_builds.create_build_schema(%s)")
    for owner in PROJECTIONS.values():
        conn = connections[owner.role()]
        own = f"{owner.versioned_schema()}_20991231235959"
        assert outcome(conn, create, (own,)) == "allowed", own
        for victim in PROJECTIONS.values():
            if victim is not owner:
                name = f"{victim.versioned_schema()}_20991231235959"
                assert outcome(conn, create, (name,)) == "refused", (owner.role(), name)
        for name in ("accounts", "public_v1", f"{owner.name}_v1; DROP SCHEMA accounts"):
            assert outcome(conn, create, (name,)) == "refused", (owner.role(), name)


def test_only_a_projector_role_may_call_the_build_schema_function(
    connections: RoleConnections,
) -> None:
    create = sql.SQL("SELECT paystream_builds.create_build_schema(%s)")
    projector_roles = {p.role() for p in PROJECTIONS.values()}
    wrong = []
    for role in ROLES:
        if role.name in projector_roles:
            continue
        for projection in PROJECTIONS.values():
            build = f"{projection.versioned_schema()}_20991231235959"
            result = outcome(connections[role.name], create, (build,))
            if result != "refused":
                wrong.append(f"{role.name} may create {build}: {result}")
    assert not wrong, "\n".join(wrong)
