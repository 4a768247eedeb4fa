"""Shared data and helpers of the channel tests: the article event, golden payload files, and
``post``, one request through the delivery transport judged by its notifier.

Holds only what every ``tests/test_notify_*.py`` file uses identically; it must not know any
single channel (channel fixtures, fakes and messages stay in each test file).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.netguard import Policy
from worker.notify import Notifier, Outcome, Outgoing, Reply
from worker.notify.transport import Send, send_all

TEST_USER_AGENT = "herald-test/1"

# The fake endpoints listen on loopback, which the SSRF guard refuses unless allowed.
LOOPBACK = Policy.from_allow(("127.0.0.1", "::1"))

PAYLOADS = Path(__file__).parent.parent / "data" / "payloads"
UPDATE = os.environ.get("HERALD_UPDATE_GOLDENS") == "1"
NOW = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
WJ = "\u2060"
ARTICLE = {
    "id": 7,
    "source": "中国科协",
    "url": "https://www.cast.org.cn/xw/tzgg/art/2026/art_1.html",
    "title": "关于开展2026年度科技工作者状况调查的通知",
    "published_at": "2026-11-30T01:30:00+00:00",
    "author": "",
    "summary": "为全面了解科技工作者的工作和生活状况，现开展年度调查。",
    "tags": ["通知"],
    "images": [],
    "attachments": [],
    "version": 1,
}


def check_golden(name: str, body: dict[str, Any]) -> None:
    """Compare ``body`` with ``tests/data/payloads/<name>`` (rewrite it when UPDATE is set)."""
    path = PAYLOADS / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == body


def post(
    notifier: Notifier, request: Outgoing, *, timeout: float = 5, policy: Policy = LOOPBACK
) -> Outcome:
    """One built request through the delivery transport (as every delivery goes), judged by its
    notifier: what a subscriber's endpoint answered, as the ledger would record it."""
    replies: dict[int, Reply] = {}

    def keep(key: int, reply: Reply) -> bool:
        replies[key] = reply
        return False

    send_all([Send(0, request.url, request, lanes=1)], policy=policy, timeout=timeout,
             user_agent=TEST_USER_AGENT, on_reply=keep)  # fmt: skip
    return notifier.classify(replies[0])
