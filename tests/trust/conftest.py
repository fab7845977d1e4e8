"""Fixtures for the trust-boundary tests: a listener that records every request an attacker would receive."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest


@pytest.fixture
def listener():
    """An HTTP server on loopback that keeps each request's path and headers and answers what
    ``respond(request)`` returns as (status, content type, body): 200 {} unless a test sets it."""
    received: list[dict] = []
    state = SimpleNamespace(respond=lambda request: (200, "application/json", "{}"))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            request = {"path": self.path, "headers": dict(self.headers)}
            received.append(request)
            status, content_type, text = state.respond(request)
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        state.received = received
        yield state
    finally:
        server.shutdown()
        server.server_close()
