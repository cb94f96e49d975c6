"""The console's signed cookies: what it signed reads back; anything altered, expired,
signed under another key or not a cookie of its at all reads as nothing."""

from __future__ import annotations

import pytest

from console.signed_cookies import CookieSigner

SIGNER = CookieSigner(b"k" * 32)


def test_a_signed_cookie_reads_back() -> None:
    value = SIGNER.sign({"token": "abc"}, 60)

    assert SIGNER.read(value) == {"token": "abc"}


def test_an_expired_cookie_reads_as_nothing() -> None:
    assert SIGNER.read(SIGNER.sign({"token": "abc"}, 0)) is None


def test_another_keys_cookie_reads_as_nothing() -> None:
    value = CookieSigner(b"x" * 32).sign({"token": "abc"}, 60)

    assert SIGNER.read(value) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-1] + ("A" if value[-1] != "A" else "B"),
        lambda value: "e30" + value[3:],
        lambda value: value.split(".")[0],
        lambda value: "",
        lambda value: "not.base64!.x",
    ],
)
def test_an_altered_cookie_reads_as_nothing(tamper: object) -> None:
    value = SIGNER.sign({"token": "abc"}, 60)

    assert SIGNER.read(tamper(value)) is None  # type: ignore[operator]
