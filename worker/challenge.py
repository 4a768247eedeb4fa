"""Is an answer an anti-bot challenge (a script that computes a cookie and loads the page again)?

Pure judgements on a status and the start of a body, shared by source health (``blocked``) and
the render fallback (which lets headless Chromium run the script). It does no I/O.
"""

from __future__ import annotations

CHALLENGE_STATUSES = (412, 521)
CHALLENGE_MARKERS = (
    "document.cookie", "acw_sc__v2", "__jsl_clearance", "_waf_", "waf_", "challenge",
    "location.reload", "window.onload=setTimeout", "cf-chl", "验证码", "安全验证",
)  # fmt: skip
MARKED_STATUSES = (403, 503)  # challenges when the body says so (a 429 asks to wait: no)
RELOADS = ("location.reload", "location.href", "location.replace", "location.assign",
           "location=", "location =")  # fmt: skip
PAGE_LIMIT = 20_000  # a challenge page is small; an article list is not
MAX_LINKS = 3


def has_markers(text: str) -> bool:
    """Does the body mention what challenge pages are made of?"""
    lowered = text.lower()
    return any(marker in lowered for marker in CHALLENGE_MARKERS)


def is_challenge(status: int | None, text: str) -> bool:
    """412/521; 403/503 with a challenge's markers; or a 2xx that is only a small script
    setting a cookie and loading the page again (no content, hardly a link)."""
    if status in CHALLENGE_STATUSES:
        return True
    if status in MARKED_STATUSES:
        return has_markers(text)
    if status is None or not 200 <= status < 300 or len(text) > PAGE_LIMIT:
        return False
    lowered = text.lower()
    return (
        "<script" in lowered
        and "document.cookie" in lowered
        and any(reload in lowered for reload in RELOADS)
        and lowered.count("<a ") < MAX_LINKS
    )
