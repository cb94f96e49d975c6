"""OTLP/HTTP trace endpoints on this machine, answering every export as taken: the sink of
`paystream bench observability`, which throws spans away, so tracing costs the services
what it would with a collector (spans made, batched, encoded, posted) and nothing is kept
but the number of exports (the bench checks that tracing was on when it says so); the
tests' receiver (tests/support/otlp_receiver.py) keeps them instead."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scripts.devstack.embedded import free_port

TRACES_PATH = "/v1/traces"


class OtlpEndpoint:
    """Hands the body of each export posted to `url` + /v1/traces to `take` (gzip undone)
    and answers 200 with an empty response (every span taken); any other path is 404."""

    def __init__(self, take: Callable[[bytes], None]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(take))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        """What OTEL_EXPORTER_OTLP_ENDPOINT names."""
        return f"http://127.0.0.1:{self.server.server_port}"

    @contextmanager
    def serving(self) -> Iterator[None]:
        """The endpoint answering on its port while the block runs."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self.server.shutdown()
            self.server.server_close()


def _handler(take: Callable[[bytes], None]) -> type[BaseHTTPRequestHandler]:
    class Taking(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the exporter keeps its connection

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != TRACES_PATH:
                self.send_error(404)
                return
            take(gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body)
            self.send_response(200)  # an empty ExportTraceServiceResponse: all taken
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per export would drown the output

    return Taking


class DiscardingSink:
    """An endpoint (`url`) that counts exports and keeps nothing."""

    def __init__(self) -> None:
        self._exports = 0
        self._lock = threading.Lock()
        self.endpoint = OtlpEndpoint(self._counted)

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def exports(self) -> int:
        with self._lock:
            return self._exports

    def _counted(self, body: bytes) -> None:
        with self._lock:
            self._exports += 1


@contextmanager
def discarding_otlp_endpoint() -> Iterator[DiscardingSink]:
    """A sink answering on its port while the block runs."""
    sink = DiscardingSink()
    with sink.endpoint.serving():
        yield sink
