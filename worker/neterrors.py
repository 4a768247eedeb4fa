"""One sentence for a failed connection: what went wrong with which host, in the words an
operator would use ("cannot resolve www.example.gov.cn", "connection refused by 10.0.0.5:8080"),
found by walking the exception chain that requests and urllib3 wrap around the real cause.

Pure: it reads exceptions only; it must not retry, log or decide what a failure means.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

CHAIN_LIMIT = 12
ERRNO_WORDS = {
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ECONNRESET: "connection reset",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed while sending",
}


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: ``__cause__``, ``__context__``, a ``reason`` attribute
    (urllib3's MaxRetryError) and exceptions among its ``args`` (requests' ConnectionError)."""
    seen: set[int] = set()
    queue = [exc]
    while queue and len(seen) < CHAIN_LIMIT:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        queue += [item for item in wrapped if isinstance(item, BaseException)]


def connection_sentence(exc: BaseException, host: str, port: int | None = None) -> str:
    """What went wrong reaching ``host`` (``port`` when known), as one short sentence."""
    where = f"{host}:{port}" if port else host
    chain = list(causes(exc))
    for cause in chain:
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return f"cannot resolve {host}"
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate of {host} not accepted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {host} failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where}"
        if isinstance(cause, OSError) and cause.errno in ERRNO_WORDS:
            return f"{ERRNO_WORDS[cause.errno]} ({where})"
    innermost = chain[-1] if chain else exc
    text = str(innermost).strip().splitlines()
    return f"connection to {where} failed ({type(innermost).__name__}: {text[0] if text else ''})"
