"""Fixtures for the trust-boundary tests: a listener that records every request an attacker would receive."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest


@pytest.fixture
def listener():
    """An HTTP server on loopback that answers 200 {} and keeps each request's path and headers."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            received.append({"path": self.path, "headers": dict(self.headers)})
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
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
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", received=received)
    finally:
        server.shutdown()
        server.server_close()
