"""``/healthz``: does the database answer, and the broker? JSON, 503 when either is down.

The embedded default has no broker to ask (its queue lives in the process). Errors are redacted
(a DSN or broker URL may carry a password). This module must not change anything.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.broker import broker_answers
from worker.redact import redact_text
from worker.runtime import get_runtime
from worker.store.stats import database_answers


def check(probe: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = probe()
    except Exception as err:  # any failure is the answer, never a crash of the endpoint
        return {"ok": False, "error": redact_text(f"{type(err).__name__}: {err}")[:500]}
    result: dict[str, Any] = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    if detail:
        result["detail"] = detail
    return result


def health_report() -> tuple[bool, dict[str, Any]]:
    rt = get_runtime()

    def database() -> str:
        with rt.session() as session:
            database_answers(session)
        return rt.engine.dialect.name

    def broker() -> str:
        url = rt.config.herald.broker_url
        if not url:
            return "embedded"
        broker_answers(url)
        return url.split(":", 1)[0]

    checks = {"database": check(database), "broker": check(broker)}
    healthy = all(c["ok"] for c in checks.values())
    return healthy, {"status": "ok" if healthy else "fail", "checks": checks}


async def healthz(request: Request) -> Response:
    healthy, report = await run_in_threadpool(health_report)
    return JSONResponse(report, status_code=200 if healthy else 503,
                        headers={"Cache-Control": "no-store"})  # fmt: skip
