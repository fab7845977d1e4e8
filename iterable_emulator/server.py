"""Threaded ``wsgiref`` servers for the US and EU hosts, sharing one ``State``."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .app import DropConnection, make_app
from .state import State


class _Handler(ServerHandler):
    """Adds one trick to wsgiref: a ``DropConnection`` from the app closes the socket silently."""

    request_handler: WSGIRequestHandler

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            conn = self.request_handler.connection
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            self.request_handler.close_connection = True
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    server: ThreadingWSGIServer

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        # The undecoded path, so that %2F inside an email in /api/users/{email} survives routing.
        env["emulator.raw_path"] = self.path.split("?", 1)[0]
        return env

    def handle(self) -> None:  # wsgiref's handle(), with our ServerHandler and multithread=True
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        # wsgiref's own handle() passes the same socket files; typeshed calls them BufferedIOBase, not IO[bytes].
        stdin, stdout = cast(IO[bytes], self.rfile), cast(IO[bytes], self.wfile)
        handler = _Handler(stdin, stdout, self.get_stderr(), self.get_environ(), multithread=True)
        handler.request_handler = self
        app = self.server.get_app()
        assert app is not None, "Listener sets the app before it serves"
        handler.run(app)

    def log_message(self, format: str, *args: object) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    verbose = False

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's getfqdn(): a reverse DNS lookup we neither need nor want.
        socketserver.TCPServer.server_bind(self)
        # A TCP server's address is (host, port[, flowinfo, scope_id]); typeshed allows a Unix path too.
        host, port = cast(tuple[str, int], self.server_address[:2])
        self.server_name = host
        self.server_port = port
        self.setup_environ()


class Listener:
    """One listening socket serving one data centre in a daemon thread."""

    def __init__(self, state: State, data_center: str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.data_center = data_center
        self.server = ThreadingWSGIServer((host, port), _RequestHandler)
        self.server.verbose = verbose
        self.server.set_app(make_app(state, data_center))
        self.host, self.port = cast(tuple[str, int], self.server.server_address[:2])
        self.url = f"http://{self.host}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"iterable-emulator-{data_center}",
            daemon=True,
        )

    def start(self) -> Listener:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_listeners(
    state: State, host: str = "127.0.0.1", us_port: int = 0, eu_port: int = 0, verbose: bool = False
) -> tuple[Listener, Listener]:
    us = Listener(state, "US", host, us_port, verbose).start()
    try:
        eu = Listener(state, "EU", host, eu_port, verbose).start()
    except BaseException:
        us.stop()
        raise
    return us, eu
