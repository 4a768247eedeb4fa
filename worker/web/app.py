"""The Starlette application of ``herald serve``: routes, gzip and security headers.

The app reads the process's runtime (``worker.runtime.get_runtime``) on each request, so it
serves the config the process runs with. It must hold no page logic of its own.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from worker.config.checks import SLUG_RE
from worker.web.api import routes_table
from worker.web.feedfiles import FeedFiles
from worker.web.headers import SecurityHeaders
from worker.web.health import healthz
from worker.web.metrics import metrics
from worker.web.openapi import openapi
from worker.web.pages import PAGE_FILE, digest_page, index, source_page

GZIP_MINIMUM = 1024


async def digest_archive_slash(request: Request) -> Response:
    """``/digests/NAME`` → ``NAME/`` (relative links need the slash); a subscriber name only."""
    name = request.path_params["name"]
    if not SLUG_RE.match(name):
        return PlainTextResponse("not found\n", status_code=404)
    return RedirectResponse(f"{name}/", status_code=308)


async def old_digest_page(request: Request) -> Response:
    """Digest links sent before they moved (``/feeds/digests/NAME/KEY.html``) → ``/digests/…``."""
    name, page = request.path_params["name"], request.path_params["page"]
    if not SLUG_RE.match(name) or not PAGE_FILE.match(page):
        return PlainTextResponse("not found\n", status_code=404)
    return RedirectResponse(f"../../../digests/{name}/{page}", status_code=308)


def create_app() -> Starlette:
    routes = [
        Route("/", index),
        Route("/sources/{name}", source_page),
        Route("/digests/{name}", digest_archive_slash),
        Route("/digests/{name}/", digest_page),
        Route("/digests/{name}/{page}", digest_page),
        Route("/feeds/digests/{name}/{page}", old_digest_page),
        Route("/feeds/{path:path}", FeedFiles().serve),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/api/v1/openapi.json", openapi),
    ]
    routes += [Route(path, serve, methods=[method]) for method, path, serve in routes_table()]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM),
    ]
    return Starlette(routes=routes, middleware=middleware)
