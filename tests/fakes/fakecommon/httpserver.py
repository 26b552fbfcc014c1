"""Loopback HTTP server plumbing shared by the fakes.

Every fake binds 127.0.0.1 only (they are test doubles, never reachable from
the network), accepts ``--port 0`` and then publishes the port the kernel chose
in a file, so tests can run many fakes in parallel without port clashes.
"""

import argparse
import json
import os
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"


def _json_default(value):
    """Timestamps (launch and create times in the fakes' state) as ISO 8601."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class LoopbackServer(ThreadingHTTPServer):
    """Threaded HTTP server on 127.0.0.1; one thread per connection."""

    daemon_threads = True          # don't let a stuck client keep the process alive
    allow_reuse_address = True
    request_queue_size = 128       # benchmarks open many connections at once

    def __init__(self, port, handler_cls, app):
        super().__init__((LOOPBACK, port), handler_cls)
        # The handler reaches the fake's state through server.app.
        self.app = app

    @property
    def port(self):
        return self.server_address[1]


def add_common_args(parser: argparse.ArgumentParser):
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port on 127.0.0.1 (0 = let the kernel choose)")
    parser.add_argument("--port-file",
                        help="write the bound port here once listening")
    parser.add_argument("--verbose", action="store_true",
                        help="log every request to stderr")


def write_port_file(path, port):
    """Write the port atomically: a test polling the file never reads half of it."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".port-")
    with os.fdopen(fd, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def serve(server: LoopbackServer, port_file=None, name="fake"):
    """Publish the port and serve until killed (SIGTERM/SIGINT)."""
    if port_file:
        write_port_file(port_file, server.port)
    print(f"{name} listening on http://{LOOPBACK}:{server.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class BaseHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (libcurl and botocore both reuse connections),
    so every response must carry an exact Content-Length."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
    # plus the client's delayed ACK adds ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "fake"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            super().log_message(fmt, *args)

    def read_body(self) -> bytes:
        """The request body, honouring Content-Length or chunked encoding."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline().split(b";", 1)[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()   # CRLF after each chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_bytes(self, status, body: bytes, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None):
        body = b"" if obj is None else json.dumps(obj, indent=1, default=_json_default).encode()
        self.send_bytes(status, body, "application/json; charset=utf-8", headers)
