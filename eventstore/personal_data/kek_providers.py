"""Where the KEK comes from: a key file under the data directory (the embedded default)
or the PAYSTREAM_KEK variable; chosen by PAYSTREAM_KEK_PROVIDER."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventstore.personal_data.kek import KEY_BYTES, AesGcmKek, KekError, check_kek_id
from eventstore.settings import MissingSetting

FILE, ENV = "file", "env"
PROVIDERS = (FILE, ENV)
DEFAULT_KEK_DIR = Path(".paystream/keys")
DEFAULT_FILE_KEK_ID = "local"


class KekSettings(BaseSettings):
    """PAYSTREAM_KEK_PROVIDER (file or env), PAYSTREAM_KEK_ID, and the key: a file in
    PAYSTREAM_KEK_DIR, or PAYSTREAM_KEK (base64; no default). PAYSTREAM_NEW_KEK is the
    env provider's next key during a rotation."""

    model_config = SettingsConfigDict(env_prefix="paystream_", extra="ignore")

    kek_provider: str = FILE
    kek_id: str = ""
    kek_dir: Path = DEFAULT_KEK_DIR
    kek: SecretStr | None = None
    new_kek: SecretStr | None = None

    def provider(self) -> str:
        if self.kek_provider not in PROVIDERS:
            raise KekError(
                f"PAYSTREAM_KEK_PROVIDER is {self.kek_provider!r}: say {' or '.join(PROVIDERS)}"
            )
        return self.kek_provider


def key_file(directory: Path, kek_id: str) -> Path:
    return directory / f"kek-{check_kek_id(kek_id)}.key"


def file_kek(directory: Path, kek_id: str, create: bool = False) -> AesGcmKek:
    """The KEK in `<directory>/kek-<id>.key` (32 raw bytes, mode 0600); made when absent
    and `create` is set (provisioning, a rotation's new KEK)."""
    path = key_file(directory, kek_id)
    if create and not path.exists():
        _make_key_file(path)
    if not path.is_file():
        raise KekError(f"no KEK file {path}: run `paystream provision`, or set PAYSTREAM_KEK_DIR")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KekError(f"KEK file {path} is readable by others: `chmod 600 {path}`")
    return AesGcmKek(kek_id, path.read_bytes())


def _make_key_file(path: Path) -> None:
    """A new random key at `path`, whole or not at all: written aside, then linked in;
    when another process linked its key first, that one is kept."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(os.urandom(KEY_BYTES))
            out.flush()
            os.fsync(out.fileno())
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()


def env_kek(kek_id: str, encoded: SecretStr | None, variable: str) -> AesGcmKek:
    """The KEK given in `variable` as base64 of 32 bytes."""
    if not kek_id:
        raise MissingSetting(f"PAYSTREAM_KEK_ID is not set: name the KEK that {variable} holds")
    if encoded is None or not encoded.get_secret_value():
        raise MissingSetting(f"{variable} is not set: export the KEK as base64 of 32 bytes")
    try:
        key = base64.b64decode(encoded.get_secret_value(), validate=True)
    except (binascii.Error, ValueError):
        raise KekError(f"{variable} is not base64") from None
    return AesGcmKek(kek_id, key)


def configured_kek(settings: KekSettings | None = None, create: bool = False) -> AesGcmKek:
    """The KEK the settings name; `create` makes the file provider's key when absent."""
    settings = settings or KekSettings()
    if settings.provider() == ENV:
        return env_kek(settings.kek_id, settings.kek, "PAYSTREAM_KEK")
    return file_kek(settings.kek_dir, settings.kek_id or DEFAULT_FILE_KEK_ID, create)


def next_kek(new_id: str, settings: KekSettings | None = None) -> AesGcmKek:
    """A rotation's new KEK, `new_id`: a new key file (made when absent), or PAYSTREAM_NEW_KEK."""
    settings = settings or KekSettings()
    if settings.provider() == ENV:
        return env_kek(new_id, settings.new_kek, "PAYSTREAM_NEW_KEK")
    return file_kek(settings.kek_dir, new_id, create=True)
