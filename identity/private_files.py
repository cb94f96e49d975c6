"""Files only their owner may read (0600) in a directory only its owner may enter (0700)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700


def private_dir(path: Path) -> Path:
    """`path`, created if missing, entered by its owner alone."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(OWNER_ONLY_DIR)
    return path


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` as 0600, atomically: a reader sees the old file or the
    new one, never half of one, and the content is never readable by others meanwhile."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
