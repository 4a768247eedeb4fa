"""The JSON API: ``/api/v1/sources`` and ``/api/v1/subscribers`` (list, get, create, PATCH,
delete), a subscriber's sample message, source detection.

A source or subscriber is the config file's own table: a request's fields are written into the
file (``worker.configfile``, comments kept) and the whole config is validated once, by the same
reader as a hand edit, before the file is replaced; a mistake is a 4xx naming the field. The
change is applied to this process and the database at once; other processes read the file
again within a second (``worker.runtime``). A bearer token (``[web] api_token``) guards every
endpoint but the OpenAPI document; without a token configured the API answers 404. Webhook URLs
are shown redacted and secrets never. This module must not build SQL.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.config import Config, ConfigError
from worker.redact import redact_text
from worker.runtime import Runtime, apply_config, build_fetcher, get_runtime
from worker.store.stats import source_overviews
from worker.web.apidata import (
    config_problem,
    problem,
    read_body,
    refusal,
    source_view,
    subscriber_view,
    url_refused,
)

SECTIONS = {"sources": "source", "subscribers": "subscriber"}
_edit_lock = threading.Lock()  # one read-modify-write of the config file at a time


MAX_BODY = 1024 * 1024


def token_problem(request: Request, rt: Runtime) -> JSONResponse | None:
    """404 when the API is off, 401 without the right bearer token, else None."""
    token = rt.config.web.api_token
    if not token:
        return problem(404, "not found (the API is off: set [web] api_token)")
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return None
    response = problem(401, "missing or wrong bearer token")
    response.headers["WWW-Authenticate"] = 'Bearer realm="herald"'
    return response


def endpoint(handler: Callable[[Request, Runtime], Response]) -> Callable[[Request], Any]:
    """``handler`` behind the bearer token, with the body (at most ``MAX_BODY`` bytes) read
    in the event loop first and the work done in the thread pool."""

    async def serve(request: Request) -> Response:
        rt = await run_in_threadpool(get_runtime)
        refused = token_problem(request, rt)
        if refused is not None:
            return refused
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return problem(413, f"the body is larger than {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return problem(413, f"the body is larger than {MAX_BODY} bytes")
        request.state.body = body
        return await run_in_threadpool(handler, request, rt)

    return serve


def list_sources(request: Request, rt: Runtime) -> Response:
    with rt.session() as session:
        seen = source_overviews(session)
    return JSONResponse([source_view(s, seen.get(s.name)) for s in rt.config.sources])


def get_source(request: Request, rt: Runtime) -> Response:
    name = request.path_params["name"]
    source = next((s for s in rt.config.sources if s.name == name), None)
    if source is None:
        return problem(404, f"no source named {name!r}")
    with rt.session() as session:
        seen = source_overviews(session)
    return JSONResponse(source_view(source, seen.get(name)))


def list_subscribers(request: Request, rt: Runtime) -> Response:
    return JSONResponse([subscriber_view(s) for s in rt.config.subscribers])


def get_subscriber(request: Request, rt: Runtime) -> Response:
    name = request.path_params["name"]
    sub = next((s for s in rt.config.subscribers if s.name == name), None)
    if sub is None:
        return problem(404, f"no subscriber named {name!r}")
    return JSONResponse(subscriber_view(sub))


def edit(
    rt: Runtime, section: str, change: Callable[[Any], Config], name: str, status: int
) -> Response:
    """Apply ``change`` to the config file; answer with the entry as it now is."""
    if rt.config.path is None:
        return problem(409, "herald runs without a config file: nothing to write to")
    with _edit_lock:
        try:
            config = change(rt.config.path)
        except ConfigError as err:
            return config_problem(err)
        apply_config(config)
    if status == 204:
        return Response(status_code=204)
    if section == "subscribers":
        sub = next(s for s in config.subscribers if s.name == name)
        body = subscriber_view(sub)
    else:
        source = next(s for s in config.sources if s.name == name)
        body = source_view(source, None)
    headers = {"Location": f"/api/v1/{section}/{name}"} if status == 201 else {}
    return JSONResponse(body, status_code=status, headers=headers)


def creator(section: str) -> Callable[[Request, Runtime], Response]:
    def create(request: Request, rt: Runtime) -> Response:
        from worker.configfile import add_entry

        body = read_body(_body(request))
        if isinstance(body, JSONResponse):
            return body
        if not isinstance(body.get("name"), str) or not body["name"]:
            return problem(422, "missing (required): the name to give it", "name")
        if (refused := refusal(body)) is not None:
            return refused
        if isinstance(body.get("url"), str) and (why := url_refused(body["url"], rt.config)):
            return problem(422, why, "url")
        name = body["name"]
        return edit(rt, section, lambda path: add_entry(path, section, body), name, 201)

    return create


def updater(section: str) -> Callable[[Request, Runtime], Response]:
    def update(request: Request, rt: Runtime) -> Response:
        from worker.configfile import update_entry

        name = request.path_params["name"]
        body = read_body(_body(request), keep_null=True)
        if isinstance(body, JSONResponse):
            return body
        if body.get("name", name) != name:
            return problem(422, "cannot be changed (delete and create instead)", "name")
        body.pop("name", None)
        missing = _missing(rt.config, section, name)
        if missing is not None:
            return missing
        shown = _view(rt.config, section, name)  # what a client that read it sends back
        changes = {k: v for k, v in body.items() if k not in shown or shown[k] != v}
        if (refused := refusal(changes)) is not None:
            return refused
        url = changes.get("url")
        if isinstance(url, str) and (why := url_refused(url, rt.config)):
            return problem(422, why, "url")
        return edit(rt, section, lambda path: update_entry(path, section, name, changes), name, 200)

    return update


def deleter(section: str) -> Callable[[Request, Runtime], Response]:
    def delete(request: Request, rt: Runtime) -> Response:
        from worker.configfile import remove_entry

        name = request.path_params["name"]
        missing = _missing(rt.config, section, name)
        if missing is not None:
            return missing
        return edit(rt, section, lambda path: remove_entry(path, section, name), name, 204)

    return delete


def _view(config: Config, section: str, name: str) -> dict[str, Any]:
    """The entry as GET shows it (what a client that read it and sends it back holds)."""
    if section == "subscribers":
        return subscriber_view(next(s for s in config.subscribers if s.name == name))
    source = next(s for s in config.sources if s.name == name)
    return {k: v for k, v in source_view(source, None).items() if k != "state"}


def _missing(config: Config, section: str, name: str) -> JSONResponse | None:
    entries: tuple[Any, ...] = config.sources if section == "sources" else config.subscribers
    if any(e.name == name for e in entries):
        return None
    return problem(404, f"no {SECTIONS[section]} named {name!r}")


def send_sample(request: Request, rt: Runtime) -> Response:
    from worker.trial import send_trial

    name = request.path_params["name"]
    missing = _missing(rt.config, "subscribers", name)
    if missing is not None:
        return missing
    try:
        trial = send_trial(rt, name)
    except KeyError:
        return problem(409, f"{name!r} is not in the database yet: try again in a second")
    body = {
        "outcome": trial.outcome,
        "latency_ms": round(trial.latency_ms, 1),
        "error": redact_text(trial.error),
        "reply": redact_text(trial.reply),
    }
    return JSONResponse(body, status_code=200 if trial.outcome == "delivered" else 502)


def detect_source(request: Request, rt: Runtime) -> Response:
    from worker.fetch import FetchError
    from worker.sources import SourceError
    from worker.sources.probe import probe_source, source_values, suggest_name

    body = read_body(_body(request))
    if isinstance(body, JSONResponse):
        return body
    url = body.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        return problem(422, "expected an http:// or https:// URL", "url")
    pages = body.get("pages", 1)
    if not isinstance(pages, int) or isinstance(pages, bool) or not 1 <= pages <= 5:
        return problem(422, "expected a whole number from 1 to 5", "pages")
    zone = ZoneInfo(rt.config.herald.timezone)
    fetcher = build_fetcher(rt.config)
    try:
        found = probe_source(fetcher, url, tz=zone, now=datetime.now(UTC), pages=pages)
    except (FetchError, SourceError) as err:
        return problem(422, redact_text(str(err)), "url")
    finally:
        fetcher.close()
    name = body.get("name") if isinstance(body.get("name"), str) else suggest_name(url)
    return JSONResponse({
        "kind": found.kind,
        "evidence": found.evidence,
        "items": [
            {"title": i.title, "url": i.url,
             "published_at": i.published_at.isoformat() if i.published_at else None}
            for i in found.items
        ],
        "config": source_values(found, str(name)) if found.kind else None,
    }, status_code=200 if found.kind else 422)  # fmt: skip


def _body(request: Request) -> bytes:
    body: bytes = request.state.body
    return body


def routes_table() -> list[tuple[str, str, Callable[[Request], Any]]]:
    """(method, path, endpoint) of every API endpoint but the OpenAPI document."""
    table: list[tuple[str, str, Callable[[Request, Runtime], Response]]] = [
        ("GET", "/api/v1/sources", list_sources),
        ("POST", "/api/v1/sources", creator("sources")),
        ("POST", "/api/v1/sources/detect", detect_source),
        ("GET", "/api/v1/sources/{name}", get_source),
        ("PATCH", "/api/v1/sources/{name}", updater("sources")),
        ("DELETE", "/api/v1/sources/{name}", deleter("sources")),
        ("GET", "/api/v1/subscribers", list_subscribers),
        ("POST", "/api/v1/subscribers", creator("subscribers")),
        ("GET", "/api/v1/subscribers/{name}", get_subscriber),
        ("PATCH", "/api/v1/subscribers/{name}", updater("subscribers")),
        ("DELETE", "/api/v1/subscribers/{name}", deleter("subscribers")),
        ("POST", "/api/v1/subscribers/{name}/test", send_sample),
    ]
    return [(method, path, endpoint(handler)) for method, path, handler in table]
