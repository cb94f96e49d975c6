"""The key-encryption key: from a 0600 file under the data directory or from a variable;
a key wrapped under one KEK never unwraps under another, it says which."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from eventstore.personal_data.kek import KEY_BYTES, AesGcmKek, KekError, WrongKek
from eventstore.personal_data.kek_providers import (
    KekSettings,
    configured_kek,
    file_kek,
    next_kek,
)
from eventstore.settings import MissingSetting
from scripts.devstack.up import up_kek_settings

DATA_KEY = bytes(range(KEY_BYTES))


def encoded(key: bytes) -> SecretStr:
    return SecretStr(base64.b64encode(key).decode())


def test_a_wrapped_key_unwraps_under_the_same_kek() -> None:
    kek = AesGcmKek("k1", os.urandom(KEY_BYTES))
    wrapped = kek.wrap(DATA_KEY)

    assert wrapped.kek_id == "k1" and DATA_KEY not in wrapped.wrapped
    assert kek.unwrap(wrapped.wrapped, "k1") == DATA_KEY


def test_another_key_under_the_same_id_is_a_wrong_kek() -> None:
    wrapped = AesGcmKek("k1", os.urandom(KEY_BYTES)).wrap(DATA_KEY)

    with pytest.raises(WrongKek, match="same id, another key"):
        AesGcmKek("k1", os.urandom(KEY_BYTES)).unwrap(wrapped.wrapped, "k1")


def test_a_key_wrapped_under_another_id_is_a_wrong_kek_naming_both() -> None:
    key = os.urandom(KEY_BYTES)
    wrapped = AesGcmKek("k1", key).wrap(DATA_KEY)

    with pytest.raises(WrongKek, match=r"wrapped under KEK 'k1'.*configured KEK is 'k2'"):
        AesGcmKek("k2", key).unwrap(wrapped.wrapped, "k1")


def test_the_file_provider_makes_a_0600_key_once_and_reads_it_again(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = file_kek(keys, "local", create=True)
    again = file_kek(keys, "local")

    path = keys / "kek-local.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == KEY_BYTES
    assert again.unwrap(made.wrap(DATA_KEY).wrapped, "local") == DATA_KEY


def test_a_key_file_made_by_another_process_first_is_kept(tmp_path: Path) -> None:
    first = file_kek(tmp_path, "local", create=True)
    second = file_kek(tmp_path, "local", create=True)

    assert second.unwrap(first.wrap(DATA_KEY).wrapped, "local") == DATA_KEY
    assert [path.name for path in tmp_path.iterdir()] == ["kek-local.key"]


def test_the_file_provider_refuses_a_missing_file_or_one_others_can_read(tmp_path: Path) -> None:
    with pytest.raises(KekError, match=r"no KEK file .*kek-local\.key: run `paystream provision`"):
        file_kek(tmp_path, "local")
    file_kek(tmp_path, "local", create=True)
    (tmp_path / "kek-local.key").chmod(0o644)
    with pytest.raises(KekError, match="readable by others"):
        file_kek(tmp_path, "local")


@pytest.mark.parametrize("kek_id", ["", "../etc", "a b", "x" * 65])
def test_a_kek_id_that_cannot_name_a_file_is_refused(tmp_path: Path, kek_id: str) -> None:
    with pytest.raises(KekError, match="is not valid"):
        file_kek(tmp_path, kek_id, create=True)
    assert list(tmp_path.iterdir()) == []


def test_the_env_provider_reads_base64_with_its_id() -> None:
    key = os.urandom(KEY_BYTES)
    settings = KekSettings(kek_provider="env", kek_id="prod-1", kek=encoded(key))

    kek = configured_kek(settings)

    assert kek.kek_id == "prod-1"
    assert AesGcmKek("prod-1", key).unwrap(kek.wrap(DATA_KEY).wrapped, "prod-1") == DATA_KEY


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (KekSettings(kek_provider="env", kek_id="p"), MissingSetting, "PAYSTREAM_KEK is not set"),
        (
            KekSettings(kek_provider="env", kek=encoded(os.urandom(KEY_BYTES))),
            MissingSetting,
            "PAYSTREAM_KEK_ID is not set",
        ),
        (KekSettings(kek_provider="env", kek_id="p", kek=SecretStr("%%")), KekError, "base64"),
        (
            KekSettings(kek_provider="env", kek_id="p", kek=encoded(b"short")),
            KekError,
            "has 5 bytes; it must have 32",
        ),
        (KekSettings(kek_provider="kms"), KekError, "PAYSTREAM_KEK_PROVIDER is 'kms'"),
    ],
)
def test_a_bad_env_setting_says_what_is_wrong(
    settings: KekSettings, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        configured_kek(settings)


def test_a_rotations_new_kek_is_a_new_file_or_paystream_new_kek(tmp_path: Path) -> None:
    made = next_kek("local-2", KekSettings(kek_dir=tmp_path))
    assert made.kek_id == "local-2" and (tmp_path / "kek-local-2.key").is_file()

    with pytest.raises(MissingSetting, match="PAYSTREAM_NEW_KEK is not set"):
        next_kek("prod-2", KekSettings(kek_provider="env", kek_id="prod-1"))


def test_up_keeps_its_kek_file_in_its_data_directory_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYSTREAM_KEK_DIR", raising=False)
    assert up_kek_settings(tmp_path).kek_dir == tmp_path / "keys"

    monkeypatch.setenv("PAYSTREAM_KEK_DIR", str(tmp_path / "elsewhere"))
    assert up_kek_settings(tmp_path).kek_dir == tmp_path / "elsewhere"
