"""The operator who runs `paystream` commands in tests: a development issuer directory of
this test process and a token for `test-operator` (operator and auditor) signed by it.
Passing `operator_env()` to a command lets it verify the token from that directory."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from identity.issuer_directory import IssuerDirectory
from identity.minting import TokenMinter
from identity.roles import AUDITOR, OPERATOR
from identity.settings import DEFAULT_AUDIENCE

ISSUER = "http://127.0.0.1:8090"
SUBJECT = "test-operator"


@functools.cache
def operator_directory() -> IssuerDirectory:
    """A development issuer's directory for this process, removed when it exits."""
    path = Path(tempfile.mkdtemp(prefix="paystream-operator-"))
    atexit.register(shutil.rmtree, path, True)
    directory = IssuerDirectory(path / "issuer")
    directory.prepare(ISSUER)
    return directory


def operator_token(subject: str = SUBJECT, *roles: str) -> str:
    """A token for `subject` with `roles` (operator and auditor when none are given)."""
    minter = TokenMinter(operator_directory().keyring, ISSUER)
    return minter.mint(subject, list(roles or (OPERATOR, AUDITOR)), 3600, DEFAULT_AUDIENCE)


def operator_env(token: str | None = None) -> dict[str, str]:
    """What a command needs to run as an operator: the token and where its keys are
    (OIDC_ISSUER emptied: the keys are the directory's, not a running issuer's)."""
    return {
        "PAYSTREAM_TOKEN": operator_token() if token is None else token,
        "PAYSTREAM_ISSUER_DIR": str(operator_directory().path),
        "OIDC_ISSUER": "",
    }
