"""An app served over real HTTP from a thread of the test's process: the status app of
a worker the test runs in process, so tools that read services over HTTP
(`paystream top`) see that worker as they see a service."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI

from api.health import serve_http
from scripts.devstack.embedded import free_port
from tests.support.stack import wait_until


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` on a free port of 127.0.0.1 until the block ends; yields its base URL."""
    port, loop, stop = free_port(), asyncio.new_event_loop(), asyncio.Event()
    serving = serve_http(app, "127.0.0.1", port, stop)
    thread = threading.Thread(target=loop.run_until_complete, args=(serving,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url), 30, "the app to answer")
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
