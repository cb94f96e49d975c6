"""The README's shell sessions, as tests run them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(marker: str) -> str:
    """The README's shell block whose first lines set `marker` (e.g. "PAY=")."""
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    return next(block for block in blocks if marker in block.split("\n\n")[0])
