"""A fast local webhook receiver for the fan-out benchmark: raw asyncio, HTTP/1.1 keep-alive.

Run it in its own process (``python bench/receiver.py --port 0``) so it never shares a GIL with
the client being measured; it prints ``PORT <n>`` on stdout once it listens on 127.0.0.1.

Every request other than the control paths below is answered ``200 {}`` and counted: requests,
distinct ``webhook-id`` headers, connections, the most connections open at once, and the wall
clock (``time.time()``) of the first and last request. With ``--secret``, every
``--verify-every``-th signed request is checked with herald's own ``verify`` (a sample, so
checking stays off the hot path).

Control paths (not counted): ``GET /stats`` (JSON counts), ``POST /reset`` (zero the counts).

It must NOT listen beyond 127.0.0.1 or send anything itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import sys
import time
from typing import Any

MAX_HEAD_BYTES = 64 * 1024
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
OK_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\n{}"
)
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Stats:
    """What the receiver has seen since the last reset."""

    def __init__(self, secret: str, verify_every: int) -> None:
        self.secret = secret
        self.verify_every = verify_every
        self.open = 0
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.ids: set[bytes] = set()
        self.without_id = 0
        self.unsigned = 0
        self.bytes_in = 0
        self.connections = 0
        self.peak_open = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.verified = 0
        self.bad_signatures = 0
        self.bad_requests = 0
        self.cpu_at_reset = cpu_seconds()

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "distinct_ids": len(self.ids),
            "without_id": self.without_id,
            "unsigned": self.unsigned,
            "bytes_in": self.bytes_in,
            "connections": self.connections,
            "peak_open_connections": self.peak_open,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "verified": self.verified,
            "bad_signatures": self.bad_signatures,
            "bad_requests": self.bad_requests,
            "cpu_s": cpu_seconds() - self.cpu_at_reset,
        }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Connection(asyncio.Protocol):
    """One client connection: a minimal HTTP/1.1 parser (Content-Length bodies, pipelining)."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.counted = False  # served a counted request (else: a control connection)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        stats = self.stats
        stats.connections += 1
        stats.open += 1
        stats.peak_open = max(stats.peak_open, stats.open)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.open -= 1
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while self.transport is not None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    self.fail()
                return
            lines = bytes(buffer[:end]).split(b"\r\n")
            request_line = lines[0].split(b" ")
            if len(request_line) != 3:
                self.fail()
                return
            method, path, version = request_line
            length = 0
            webhook_id = b""
            signature = b""
            keep_alive = version == b"HTTP/1.1"
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    webhook_id = value.strip()
                elif name == b"webhook-signature":
                    signature = value.strip()
                elif name == b"connection":
                    token = value.strip().lower()
                    keep_alive = token != b"close" and (keep_alive or token == b"keep-alive")
                elif name == b"transfer-encoding":
                    self.fail()  # no client of this benchmark sends chunked bodies
                    return
            total = end + 4 + length
            if len(buffer) < total:
                return
            body = bytes(buffer[end + 4 : total])
            del buffer[:total]
            if path.startswith(b"/stats") or path.startswith(b"/reset"):
                self.control(method, path, keep_alive)
            else:
                self.counted = True
                self.count(webhook_id, signature, lines, body, total)
                self.transport.write(OK if keep_alive else OK_CLOSE)
            if not keep_alive and self.transport is not None:
                self.transport.close()

    def count(
        self, webhook_id: bytes, signature: bytes, lines: list[bytes], body: bytes, size: int
    ) -> None:
        stats = self.stats
        now = time.time()
        if not stats.requests:
            stats.first_at = now
        stats.last_at = now
        stats.requests += 1
        stats.bytes_in += size
        if webhook_id:
            stats.ids.add(webhook_id)
        else:
            stats.without_id += 1
        if not signature:
            stats.unsigned += 1
        elif stats.secret and stats.requests % stats.verify_every == 0:
            self.check_signature(lines, body)

    def check_signature(self, lines: list[bytes], body: bytes) -> None:
        from worker.notify.webhook import WebhookVerificationError, verify

        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().decode("latin-1")] = value.strip().decode("latin-1")
        try:
            verify(self.stats.secret, headers, body, tolerance=3600)
        except WebhookVerificationError:
            self.stats.bad_signatures += 1
        else:
            self.stats.verified += 1

    def control(self, method: bytes, path: bytes, keep_alive: bool) -> None:
        if path.startswith(b"/reset") and method == b"POST":
            self.stats.reset()
            self.counted = True  # opened before the reset: not in the new counts
            payload = b'{"reset":true}'
        else:
            if not self.counted:
                self.stats.connections -= 1  # the harness's own connection
                self.counted = True
            payload = json.dumps(self.stats.snapshot()).encode()
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(payload)).encode()
            + (b"\r\n\r\n" if keep_alive else b"\r\nConnection: close\r\n\r\n")
        )
        assert self.transport is not None
        self.transport.write(head + payload)

    def fail(self) -> None:
        self.stats.bad_requests += 1
        if self.transport is not None:
            self.transport.write(BAD)
            self.transport.close()


async def serve(port: int, secret: str, verify_every: int) -> None:
    stats = Stats(secret, verify_every)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(stats), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--secret", default="", help="whsec_… to verify a sample of signatures")
    parser.add_argument("--verify-every", type=int, default=50, help="verify every k-th request")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.secret, max(1, args.verify_every)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
