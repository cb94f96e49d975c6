"""The services' uvicorn server (api/quiet_server.py): it serves, stamps a Date, and ends
when its worker stops or its process gets SIGTERM, though its idle loop ticks once a
second."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading

import httpx
from fastapi import FastAPI

from api.health import serve_http
from scripts.devstack.embedded import free_port
from tests.support.stack import wait_until

SERVE_ONE = """
import sys
from fastapi import FastAPI
from api.quiet_server import serve_app
app = FastAPI()
app.get("/ping")(lambda: "pong")
serve_app(app, "127.0.0.1", int(sys.argv[1]))
"""


def pong(port: int) -> bool:
    try:
        return bool(httpx.get(f"http://127.0.0.1:{port}/ping").json() == "pong")
    except httpx.TransportError:
        return False


def test_a_worker_app_answers_with_a_date_and_stops_when_told() -> None:
    app = FastAPI()
    app.get("/ping")(lambda: "pong")
    port, loop, stop = free_port(), asyncio.new_event_loop(), asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve_http(app, "127.0.0.1", port, stop),)
    )
    thread.start()
    try:
        wait_until(lambda: pong(port), 30, "the app to answer")
        response = httpx.get(f"http://127.0.0.1:{port}/ping")
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)

    assert not thread.is_alive()
    loop.close()
    assert response.headers["date"].endswith(" GMT")


def test_sigterm_ends_a_served_app() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVE_ONE, str(port)])
    try:
        wait_until(lambda: pong(port), 30, "the app to answer")
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then raises the captured signal again: killed by SIGTERM
        assert process.wait(30) == -signal.SIGTERM
    finally:
        process.kill()
