"""Playwright driving the system's Chromium (Debian's `chromium`), and where each browser
test's screenshot goes.

Playwright's own browser download does not work on the CI machine, so the tests launch
the Chromium found on PATH; `.ci/run` installs Debian's package when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = (
    "no Chromium to drive: install one (Debian/Ubuntu: `apt-get install chromium`), or "
    "point PAYSTREAM_CHROMIUM at a Chromium or Chrome binary"
)
# In CI a missing browser is a failure, never a skip: the console would go untested.
REQUIRED_VARIABLE = "PAYSTREAM_REQUIRE_BROWSER"
ARTEFACTS = "artefacts"
LAPTOP = {"width": 1280, "height": 800}
# Generous waits: a 2-core CI machine also runs the whole system and other tests. An
# assertion that holds returns at once; only a failing one waits this long.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    """The Chromium to launch: PAYSTREAM_CHROMIUM, else the first on PATH."""
    configured = os.environ.get("PAYSTREAM_CHROMIUM")
    if configured:
        return configured
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def artefacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's artefacts directory, under pytest's base temporary directory."""
    path = tmp_path_factory.getbasetemp() / ARTEFACTS
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where the browser tests saved their screenshots, when any did."""
    factory = terminalreporter.config._tmp_path_factory  # type: ignore[attr-defined]
    for directory in sorted(factory.getbasetemp().glob("**/" + ARTEFACTS)):
        terminalreporter.write_line(f"artefacts (screenshots): {directory}")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium for one test; skipped, naming how to install one, when there
    is none (a failure instead when PAYSTREAM_REQUIRE_BROWSER is set, as .ci/run does).

    Per test, not per session: Playwright's sync API runs an event loop in this thread
    while it is open, and the fixtures that start a system (asyncio.run) must not run
    then; function fixtures are set up after the module's and session's."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get(REQUIRED_VARIABLE):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(
    browser: Browser, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Page]:
    """A fresh browser context and page at laptop width; its screenshot is saved under the
    run's artefacts when the test ends, passed or failed."""
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[arg-type]
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    yield opened
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    shot = artefacts_dir(tmp_path_factory) / f"{name}.png"
    opened.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    context.close()
