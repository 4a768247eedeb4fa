"""Headless Chromium for sources that fight back: JavaScript cookie challenges (HTTP 412/521)
and lists built by script.

``locate`` finds the system's Chromium (never a downloaded one); ``browser`` keeps one browser per
worker process, started when first needed and closed when idle; ``page`` renders one page in a
fresh context with every request the page makes relayed through herald's own fetcher (so the
SSRF guard, ``[network] allow``, the proxy and the cookie jar apply to the browser too);
``fallback`` decides when a fetch is answered by the browser instead. Import from the modules:
this package imports nothing itself, so reading the config never loads Playwright.
"""
