"""The console as a process of the running system, behind a gateway as `paystream up`
runs it, and signing in to it on the development issuer's login form: for the browser
tests of the console's pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from scripts.devstack.console_env import behind_gateway, console_env
from scripts.devstack.embedded import free_port
from tests.support.stack import Stack


@contextmanager
def running_console(stack: Stack, data_dir: Path) -> Iterator[str]:
    """The console watching every service of `stack`, behind a gateway; its URL there."""
    watched = {process.spec.name: process.url for process in stack.processes}
    (data_dir / "services.json").write_text(json.dumps(watched))
    port, gateway_port = free_port(), free_port()
    public_url = behind_gateway(f"http://127.0.0.1:{gateway_port}")
    env = console_env(port, stack.issuer_dir, data_dir, public_url)
    process = stack.start("console", port=port, env=env)
    try:
        with stack.gateway(console_port=port, port=gateway_port):
            yield public_url
    finally:
        process.stop()
        stack.processes.remove(process)


def sign_in(page: Page, console: str, subject: str, role: str) -> None:
    """Open the console and sign in on the development issuer's login form."""
    page.goto(f"{console}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Name").fill(subject)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Sign in").click()
