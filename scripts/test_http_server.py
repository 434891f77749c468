#!/usr/bin/env python3
"""A small range-capable HTTP file server for landcover's remote-input tests (Python stdlib only).

Serves the files below ROOT on 127.0.0.1 at a free port (or --port) and prints one line
`listening on http://127.0.0.1:PORT` on standard output once it accepts connections; it runs
until it is terminated (SIGTERM or SIGINT).

What GDAL's /vsicurl/ needs and uses:
- GET and HEAD; `Range: bytes=A-B`, `bytes=A-` and `bytes=-N` answered with 206 and
  Content-Range (416 past the end); `Accept-Ranges: bytes` on every file response;
- `ETag` (from the file's size and nanosecond modification time, so touching or rewriting a file
  gives a new one) and `Last-Modified`; `If-None-Match` answered with 304;
- no directory listings (404), as object stores.

Fault modes, chosen by the first path segment, for the error-path tests:
- `/fault/500/...`, `/fault/503/...`, `/fault/429/...`, `/fault/404/...`: that status for every
  request (a JSON error body; 429 and 503 carry `Retry-After: 1`);
- `/fault/stall/...`: accepts the request and never answers (until the server stops).

Every request is logged to standard error as `METHOD PATH RANGE -> STATUS` (the tests read the
number of requests from it).
"""
import argparse
import email.utils
import http.server
import os
import socketserver
import sys
import threading
import time

STOP = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "landcover-test-http/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the default access log; self.log writes one line instead
        pass

    def log(self, status):
        sys.stderr.write("%s %s %s -> %s\n" % (self.command, self.path, self.headers.get("Range", "-"), status))
        sys.stderr.flush()

    def do_HEAD(self):
        self.serve(body=False)

    def do_GET(self):
        self.serve(body=True)

    def fail(self, status, body=True):
        payload = b'{"error": "test server fault mode %d"}' % status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if status in (429, 503):
            self.send_header("Retry-After", "1")
        self.end_headers()
        if body:
            self.wfile.write(payload)
        self.log(status)

    def serve(self, body):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "fault":
            mode = parts[1]
            if mode == "stall":
                self.log("stall")
                STOP.wait()
                self.close_connection = True
                return
            if mode.isdigit():
                return self.fail(int(mode), body)
        if any(p in (".", "..") for p in parts):
            return self.fail(404, body)
        root = self.server.root
        full = os.path.join(root, *parts) if parts else root
        if not os.path.isfile(full):
            return self.fail(404, body)
        info = os.stat(full)
        size = info.st_size
        etag = '"%x-%x"' % (size, info.st_mtime_ns)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.log(304)
            return
        start, end, status = 0, size - 1, 200
        header = self.headers.get("Range")
        if header and header.startswith("bytes=") and "," not in header:
            first, _, last = header[6:].strip().partition("-")
            try:
                if first == "":
                    start, end = max(0, size - int(last)), size - 1
                else:
                    start = int(first)
                    end = min(int(last), size - 1) if last else size - 1
            except ValueError:
                start, end = 0, size - 1
            else:
                if start >= size or start > end:
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.log(416)
                    return
                status = 206
        length = end - start + 1 if size else 0
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True))
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if body and length:
            with open(full, "rb") as f:
                f.seek(start)
                remaining = length
                while remaining:
                    chunk = f.read(min(remaining, 1 << 16))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
        self.log(status)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", help="folder whose files are served")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.root = os.path.abspath(args.root)
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        STOP.set()
        server.server_close()


if __name__ == "__main__":
    import signal

    def stop(*_):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, stop)
    main()
