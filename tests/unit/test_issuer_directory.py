"""The development issuer's directory: keys and client secrets only its owner can read,
the newest key signing, the two before it still published, clients generated once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.clients import authenticate, load_clients
from identity.issuer_directory import IssuerDirectory
from identity.keys import KEPT, KeyRing, NoSigningKey
from identity.private_files import write_private
from identity.settings import IssuerSettings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_prepare_writes_keys_clients_and_identifier_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    directory = IssuerDirectory(tmp_path / "issuer")

    directory.prepare("http://127.0.0.1:8090")

    files = [path for path in directory.path.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"clients.json", "issuer.json"}
    assert any(path.suffix == ".pem" for path in files)
    assert {mode(path) for path in files} == {0o600}
    assert mode(directory.path) == mode(directory.keyring.keys_dir) == 0o700
    assert directory.issuer() == "http://127.0.0.1:8090"


def test_a_second_start_keeps_the_key_and_the_client_secrets(tmp_path: Path) -> None:
    directory = IssuerDirectory(tmp_path / "issuer")
    first = directory.prepare("http://127.0.0.1:8090")
    kids = directory.keyring.kids()

    second = directory.prepare("http://127.0.0.1:8091")

    assert second == first and directory.keyring.kids() == kids
    assert directory.issuer() == "http://127.0.0.1:8091"


def test_the_saga_is_a_service_client(tmp_path: Path) -> None:
    directory = IssuerDirectory(tmp_path / "issuer")
    directory.prepare("http://127.0.0.1:8090")

    saga = load_clients(directory.path)["saga"]

    assert saga.roles == ("service",) and len(saga.secret) >= 32


def test_a_client_authenticates_with_its_own_secret_only(tmp_path: Path) -> None:
    clients = IssuerDirectory(tmp_path / "issuer").prepare("http://127.0.0.1:8090")
    secret = clients["saga"].secret

    assert authenticate(clients, "saga", secret) == clients["saga"]
    assert authenticate(clients, "saga", secret[:-1]) is None
    assert authenticate(clients, "mallory", secret) is None


def test_the_newest_key_signs_and_the_kept_ones_are_published(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    made = [keyring.rotate().kid for _ in range(KEPT + 2)]

    assert keyring.current().kid == made[-1]
    assert [key["kid"] for key in keyring.jwks()["keys"]] == made[::-1][:KEPT]
    assert keyring.kids() == made[-KEPT:]  # the older ones are deleted


def test_no_key_yet(tmp_path: Path) -> None:
    with pytest.raises(NoSigningKey):
        KeyRing(tmp_path).current()
    with pytest.raises(NoSigningKey):
        IssuerDirectory(tmp_path).issuer()


def test_a_key_that_is_not_rsa_is_refused(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(keyring.keys_dir / "20990101T000000000000Z-ec.pem", pem)

    with pytest.raises(ValueError, match="not an RSA key"):
        keyring.current()


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    (target / "inside").mkdir(parents=True)  # a directory is in the way

    with pytest.raises(OSError):
        write_private(target, b"secret")

    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize(
    ("host", "url", "expected"),
    [
        ("127.0.0.1", "", "http://127.0.0.1:8090"),
        ("0.0.0.0", "", "http://127.0.0.1:8090"),
        ("0.0.0.0", "https://id.example/", "https://id.example"),
    ],
)
def test_the_issuer_identifier(host: str, url: str, expected: str) -> None:
    assert IssuerSettings(issuer_url=url).url(host, 8090) == expected
