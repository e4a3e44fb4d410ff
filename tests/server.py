"""A real HTTP server on 127.0.0.1 for end-to-end tests: routes, validators, redirects, faults.

Each route is a `Route`; the server answers conditional GETs (ETag / Last-Modified → 304), can
delay, trickle, gzip, or answer any status with any headers, and counts every request it gets.
"""

from __future__ import annotations

import gzip as gzip_mod
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0              # seconds before answering
    trickle: float | None = None    # seconds between single bytes of the body
    gzip: bool = False
    length: int | None = None       # an endless body of this many bytes (generated), for size caps


class FeedServer:
    def __init__(self, host: str = "127.0.0.1", tls=None):
        """`tls`: an ssl.SSLContext to serve HTTPS with (tests/smtp_server.server_tls())."""
        self.routes: dict[str, Route] = {}
        self.hits: Counter = Counter()
        self.statuses: list[tuple[str, int]] = []
        self.request_headers: list[tuple[str, dict]] = []
        self.connections = 0            # TCP connections accepted
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def setup(self):
                with server._lock:
                    server.connections += 1
                super().setup()

            def do_GET(self):
                server._handle(self)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def add(self, path: str, body: bytes | str = b"", **kw) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **kw)
        return self.url(path)

    def count(self, path: str) -> int:
        return self.hits[path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _route(self, raw_path: str) -> Route | None:
        return self.routes.get(raw_path) or self.routes.get(urlsplit(raw_path).path)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        route = self._route(h.path)
        with self._lock:
            self.hits[urlsplit(h.path).path] += 1
            self.request_headers.append((h.path, dict(h.headers)))
        if route is None:
            return self._send(h, 404, b"not found", {"Content-Type": "text/plain"})
        if route.delay:
            time.sleep(route.delay)
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and (
                (route.etag and h.headers.get("If-None-Match") == route.etag) or
                (route.last_modified and not route.etag
                 and h.headers.get("If-Modified-Since") == route.last_modified)):
            return self._send(h, 304, b"", headers, path=h.path)
        body = route.body
        if route.gzip:
            body = gzip_mod.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.length is not None:
            return self._endless(h, route, headers)
        if route.trickle:
            return self._trickle(h, route, body, headers)
        self._send(h, route.status, body, headers, path=h.path)

    def _send(self, h, status: int, body: bytes, headers: dict, path: str = "") -> None:
        with self._lock:
            self.statuses.append((urlsplit(path or h.path).path, status))
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if body:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _trickle(self, h, route: Route, body: bytes, headers: dict) -> None:
        try:
            h.send_response(route.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            for i in range(min(len(body), 600)):   # bounded: at most 600 bytes
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
                time.sleep(route.trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _endless(self, h, route: Route, headers: dict) -> None:
        """A body of `route.length` bytes sent in chunks, without Content-Length."""
        try:
            h.send_response(route.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Connection", "close")
            h.end_headers()
            chunk = b"<item><title>x</title></item>" * 2000
            sent = 0
            while sent < route.length:
                h.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True
