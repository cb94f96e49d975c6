"""The README's shell sessions, as tests run them: against a test system's ports, with
tokens from its development issuer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_block(marker: str) -> str:
    """The README's shell block whose first lines set `marker` (e.g. "PAY=")."""
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    return next(block for block in blocks if marker in block.split("\n\n")[0])


def run_readme_block(
    marker: str, ports: dict[str, str], stack: Stack, urls: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the block as written, each default port (`ports`: port -> service) replaced by
    the service's URL on `stack` (`urls`: port -> any other URL, e.g. a gateway's), and
    `paystream token` minting from the stack's issuer."""
    script = readme_block(marker)
    found = {port: stack.url(name) for port, name in ports.items()} | (urls or {})
    for port, url in found.items():
        script = script.replace(f"http://127.0.0.1:{port}", url)
    script = script.replace(".venv/bin/paystream", f"{sys.executable} -m scripts.cli")
    env = {
        **os.environ,
        "PAYSTREAM_ISSUER_DIR": str(stack.issuer_dir),
        "OIDC_ISSUER": stack.url_of("issuer"),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
