"""An OTLP/HTTP endpoint that takes every export and throws it away: where the services
of `paystream bench observability` send their spans, so tracing costs the services what
it would with a collector (spans made, batched, encoded, posted) and nothing is kept but
the number of exports (the bench checks that tracing was on when it says so)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scripts.devstack.embedded import free_port


class DiscardingSink:
    """The endpoint (`url`, for OTEL_EXPORTER_OTLP_ENDPOINT) and how many exports came."""

    def __init__(self) -> None:
        self._exports = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def exports(self) -> int:
        with self._lock:
            return self._exports

    def _counted(self) -> None:
        with self._lock:
            self._exports += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Discarding(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # the exporter keeps its connection

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink._counted()
                self.send_response(200)  # an empty ExportTraceServiceResponse: all taken
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Discarding


@contextmanager
def discarding_otlp_endpoint() -> Iterator[DiscardingSink]:
    """A sink answering on its port while the block runs."""
    sink = DiscardingSink()
    thread = threading.Thread(target=sink.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.server.shutdown()
        sink.server.server_close()
