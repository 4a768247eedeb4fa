"""The Starlette application of ``herald serve``: routes, gzip and security headers.

The app reads the process's runtime (``worker.runtime.get_runtime``) on each request, so it
serves the config the process runs with. It must hold no page logic of its own.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from worker.web.api import routes_table, with_body
from worker.web.feedfiles import FeedFiles
from worker.web.headers import SecurityHeaders
from worker.web.health import healthz
from worker.web.metrics import metrics
from worker.web.openapi import openapi
from worker.web.pages import digest_page, index, source_page

GZIP_MINIMUM = 1024


async def digest_archive_slash(request: Request) -> Response:
    return RedirectResponse(f"{request.path_params['name']}/", status_code=308)


def create_app() -> Starlette:
    routes = [
        Route("/", index),
        Route("/sources/{name}", source_page),
        Route("/digests/{name}", digest_archive_slash),
        Route("/digests/{name}/", digest_page),
        Route("/digests/{name}/{page}", digest_page),
        Route("/feeds/{path:path}", FeedFiles().serve),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/api/v1/openapi.json", openapi),
    ]
    routes += [
        Route(path, with_body(handler), methods=[method])
        for method, path, handler in routes_table()
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM),
    ]
    return Starlette(routes=routes, middleware=middleware)
