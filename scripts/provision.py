"""Create, idempotently, everything the services need: database, roles, schemas, grants,
tables and JetStream streams. Runs as the database administrator."""

from __future__ import annotations

import asyncio

import nats
import psycopg
from psycopg.conninfo import conninfo_to_dict

from api.query_registry import QUERY_APIS
from eventstore import operator_log, roles
from eventstore.audit_queries import ensure_correlation_index
from eventstore.contexts import CONTEXTS, Context
from eventstore.personal_data import schema as personal_data
from eventstore.personal_data.kek import KeyEncryptionKey
from eventstore.personal_data.kek_check import seal_check
from eventstore.personal_data.kek_providers import configured_kek
from eventstore.settings import DatabaseSettings, nats_servers
from eventstore.streams import ensure_stream
from projections.group import GROUP_ROLE
from projections.personal_fields import OPENING_READ_MODELS
from projections.projection import Projection
from projections.registry import PROJECTIONS
from projections.versions import install
from scripts.composition.applications import open_command_service

# The roles that may unwrap data keys: the command services, which will seal the owner's
# name and a payment's reference, and the projectors of the read models that show them.
PERSONAL_DATA_READ_MODELS = OPENING_READ_MODELS
PERSONAL_DATA_READERS = (
    *(context.role for context in CONTEXTS.values()),
    *(PROJECTIONS[name].role() for name in PERSONAL_DATA_READ_MODELS),
)


def provision(
    db: DatabaseSettings,
    nats_url: str,
    stream_replicas: int | None = None,
    kek: KeyEncryptionKey | None = None,
) -> None:
    """Bring the database and the streams to the state every service expects; the data
    keys' check is sealed under `kek` (the configured KEK, its file made when absent)."""
    kek = kek or configured_kek(create=True)
    admin = db.admin_conninfo()
    roles.ensure_database(admin)
    password = db.paystream_db_role_password
    secret = password.get_secret_value() if password else None
    dbname = str(conninfo_to_dict(admin).get("dbname", "paystream"))
    with psycopg.connect(admin, autocommit=True) as conn:
        roles.lock_down_public(conn, dbname)
        for context in CONTEXTS.values():
            roles.ensure_role(conn, context.role, secret)
            roles.ensure_owned_schema(conn, context.schema, context.role)
            roles.ensure_role(conn, context.relay_role, secret)
        for projection in PROJECTIONS.values():
            roles.ensure_role(conn, projection.role(), secret)
            roles.ensure_owned_schema(conn, projection.read_schema(), projection.role())
        for api in QUERY_APIS.values():
            roles.ensure_role(conn, api.role, secret)
        roles.ensure_role(conn, GROUP_ROLE, secret)
        roles.grant_roles(conn, GROUP_ROLE, [p.role() for p in PROJECTIONS.values()])
        roles.ensure_role(conn, operator_log.ROLE, secret)
        operator_log.create(conn)
        roles.ensure_role(conn, personal_data.ROLE, secret)
        personal_data.create(conn, list(PERSONAL_DATA_READERS))
        seal_check(conn, kek)
        roles.allow_build_schemas(conn, {p.role(): p.name for p in PROJECTIONS.values()})
    for context in CONTEXTS.values():
        _create_context_tables(context, db)
        ensure_correlation_index(db, context)
    for projection in PROJECTIONS.values():
        _install_read_model(projection, db)
    with psycopg.connect(admin, autocommit=True) as conn:
        for context in CONTEXTS.values():
            roles.grant_event_reading(conn, context, context.relay_role)
        for projection in PROJECTIONS.values():
            for source in projection.sources:
                roles.grant_event_reading(conn, source, projection.role())
        for api in QUERY_APIS.values():
            for projection in api.projections:
                roles.grant_schema_reading(
                    conn, projection.read_schema(), projection.role(), api.role
                )
    asyncio.run(_ensure_streams(nats_url, stream_replicas))


def _create_context_tables(context: Context, db: DatabaseSettings) -> None:
    open_command_service(context, db, create_table=True).close()


def _install_read_model(projection: type[Projection], db: DatabaseSettings) -> None:
    async def create() -> None:
        conninfo = db.role_conninfo(projection.role())
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await install(conn, projection)

    asyncio.run(create())


async def _ensure_streams(nats_url: str, replicas: int | None) -> None:
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        for context in CONTEXTS.values():
            await ensure_stream(js, context, replicas)
    finally:
        await nc.close()
