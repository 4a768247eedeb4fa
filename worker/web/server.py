"""Running the web app: ``herald serve`` in the foreground, or beside ``herald run`` in a thread.

uvicorn serves the app (the production server too: ``uvicorn --factory worker.web:create_app``
behind a reverse proxy). The socket is bound before the server starts, so a port already in use
is an ``OSError`` the caller can report. It must hold no routes or page logic.
"""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from worker.web.app import create_app

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); OSError when it cannot be had (in use, no such host)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def make_server(log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(), log_level=log_level, access_log=False, proxy_headers=True,
        server_header=False, lifespan="off",
    )  # fmt: skip
    return uvicorn.Server(config)


def serve(sock: socket.socket, *, log_level: str = "info") -> None:
    """Serve on ``sock`` until interrupted (Ctrl-C / SIGTERM)."""
    make_server(log_level).run(sockets=[sock])


def serve_in_background(sock: socket.socket) -> threading.Thread:
    """Serve on ``sock`` from a daemon thread (``herald run``); it ends with the process."""
    server = make_server()
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="herald-web", daemon=True
    )
    thread.start()
    return thread
