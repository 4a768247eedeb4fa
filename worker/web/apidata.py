"""The JSON API's data: reading request bodies, refusing what may not go into the config file,
naming the field of a config mistake, and the redacted views of sources and subscribers.

Pure apart from the SSRF guard's name lookup in ``url_refused``; it must not write anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from worker.config import Config, ConfigError, SourceConfig, SubscriberConfig
from worker.netguard import BlockedAddress, check_address, resolve_and_check
from worker.redact import redact_text, redact_url
from worker.runtime import network_policy

FILE_ONLY = {"template": "it names a file on the server"}  # keys the API may not write
REDACTED = "***"
_FIELD = re.compile(r'^(?:sources|subscribers)(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?\.?')


def problem(status: int, message: str, field: str = "") -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def field_of(key: str) -> str:
    """``subscribers[3].url`` → ``url``; ``sources.name`` → ``name``."""
    return _FIELD.sub("", key)


def config_problem(err: ConfigError) -> JSONResponse:
    field = field_of(err.key)
    status = 409 if "already exists" in err.problem or "duplicate name" in err.problem else 422
    if "no source named" in err.problem and field == "sources":
        status = 422
    return problem(status, redact_text(err.problem), field)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number herald takes")


def read_body(request_body: bytes, *, keep_null: bool = False) -> dict[str, Any] | JSONResponse:
    """The JSON object sent, checked for what the config file cannot hold; a 4xx otherwise.
    ``null`` values are dropped, or kept (``keep_null``: a PATCH removing keys)."""
    try:
        data = json.loads(request_body or b"null", parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        return problem(400, f"the body is not JSON herald takes: {str(err)[:200]}")
    if not isinstance(data, dict):
        return problem(400, "the body must be a JSON object of the config's fields")
    for key, value in data.items():
        if not _encodable(value):
            return problem(400, "not valid Unicode (a lone surrogate)", key)
    return {k: v for k, v in data.items() if keep_null or v is not None}


def _encodable(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


def refusal(changes: dict[str, Any]) -> JSONResponse | None:
    """A 422 for a value the API may not write into the config file, naming its key."""
    for key, value in changes.items():
        if key in FILE_ONLY and value not in (None, ""):
            return problem(422, f"can only be set in the config file ({FILE_ONLY[key]})", key)
        if refused := value_problem(value):
            return problem(422, refused, key)
    return None


def value_problem(value: Any) -> str:
    """Why a value sent may not go into the config file ("" when it may)."""
    if isinstance(value, dict):
        return next((p for v in value.values() if (p := value_problem(v))), "")
    if isinstance(value, list):
        return next((p for v in value if (p := value_problem(v))), "")
    if not isinstance(value, str):
        return ""
    if value.startswith("env:"):
        return "env: references can only be written in the config file"
    if REDACTED in value:
        return "this is the redacted form shown by the API: send the real value or leave it out"
    return ""


def url_refused(url: str, config: Config) -> str:
    """Why the SSRF guard refuses ``url`` ("" when it does not, or when the name does not
    resolve here: then the send decides)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
    except ValueError:
        return ""
    if not host:
        return ""
    policy = network_policy(config)
    try:
        check_address(host, policy)
        return ""
    except ValueError:
        pass  # a name, not an address
    except BlockedAddress as err:
        return str(err)
    try:
        resolve_and_check(host, port, policy)
    except BlockedAddress as err:
        return str(err)
    except (OSError, UnicodeError):
        return ""
    return ""


# --- shapes shown -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def subscriber_view(sub: SubscriberConfig) -> dict[str, Any]:
    """The subscriber's fields as the config file holds them (flat), secrets hidden."""
    data = dict(_plain(asdict(sub)))
    data.pop("from_env", None)
    data.update(data.pop("options"))
    data["url"] = redact_url(sub.url)
    data["secret"] = "***" if sub.secret else ""
    return data


def source_view(source: SourceConfig, state: Any) -> dict[str, Any]:
    data = dict(_plain(asdict(source)))
    data = {k: v for k, v in data.items() if v is not None}
    latest = state.latest if state else None
    data["state"] = {
        "status": (state.status if state else "not started") if source.enabled else "disabled",
        "family": state.detected_kind if state and state.detected_kind else source.kind,
        "articles": state.articles if state else 0,
        "rendered_polls_in_a_row": state.rendered_polls if state else 0,
        "last_success_at": state.last_success_at.isoformat()
        if state and state.last_success_at
        else None,
        "latest": {"title": latest.title, "url": latest.url} if latest else None,
    }
    return data


# --- handlers ------------------------------------------------------------------------------------
