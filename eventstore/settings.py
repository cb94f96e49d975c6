"""Connection settings for PostgreSQL and NATS, read from the environment."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSetting(RuntimeError):
    """A variable the process needs is not set; the message says how to set it."""


class DatabaseSettings(BaseSettings):
    """Where PostgreSQL is; DATABASE_URL is an administrator's URL used for set-up."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = ""
    paystream_db_role_password: SecretStr | None = None

    def admin_conninfo(self) -> str:
        """The administrator's connection string (set-up only)."""
        if not self.database_url:
            raise MissingSetting(
                "DATABASE_URL is not set: run the `export DATABASE_URL=...` line that"
                " `paystream up` prints, or export an administrator's URL of your own server"
            )
        return self.database_url

    def role_conninfo(self, role: str) -> str:
        """The connection string a service uses: same server, its own role."""
        password = self.paystream_db_role_password
        extra = {"password": password.get_secret_value()} if password else {}
        return make_conninfo(self.admin_conninfo(), user=role, **extra)

    def role_params(self, role: str) -> dict[str, str]:
        """The role's connection as separate parameters (for the eventsourcing library)."""
        params = conninfo_to_dict(self.role_conninfo(role))
        return {key: str(value) for key, value in params.items() if value is not None}


class NatsSettings(BaseSettings):
    """Where NATS JetStream is: NATS_URL names one server, or a cluster's, comma-separated."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    nats_url: str = ""
    nats_stream_replicas: int = 1  # 3 on the compose cluster
    # How long the server remembers message ids to drop duplicates; the relay never
    # relies on it (it resumes after the stream's last message), tests shorten it.
    nats_duplicate_window_seconds: float = 120.0

    def url(self) -> str:
        if not self.nats_url:
            raise MissingSetting(
                "NATS_URL is not set: run the `export NATS_URL=...` line that"
                " `paystream up` prints, or export your own server's URL"
            )
        return self.nats_url


def nats_servers(url: str) -> list[str]:
    """The servers of a NATS_URL, one per entry: nats-py wants a list, not a comma string."""
    return [server.strip() for server in url.split(",") if server.strip()]


class GroupCommitSettings(BaseSettings):
    """How many commands of one process may share a commit (eventstore/group_commit.py);
    1 commits each alone."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    paystream_group_commit_max_commands: int = Field(default=64, ge=1, le=1000)


METRICS_ON = ("on", "true", "1")
METRICS_OFF = ("off", "false", "0")


class MetricsSettings(BaseSettings):
    """PAYSTREAM_METRICS: whether a service keeps Prometheus metrics and serves /metrics.
    On unless it says off (`off`, `false` or `0`); a value that is neither stops the
    service at start (eventstore/metrics_switch.py is what it switches)."""

    model_config = SettingsConfigDict(env_prefix="paystream_", extra="ignore")

    metrics: str = "on"

    def enabled(self) -> bool:
        word = self.metrics.strip().lower()
        if word in METRICS_ON or word in METRICS_OFF:
            return word in METRICS_ON
        raise ValueError(
            f"PAYSTREAM_METRICS is {self.metrics!r}: say on ({', '.join(METRICS_ON)})"
            f" or off ({', '.join(METRICS_OFF)})"
        )
