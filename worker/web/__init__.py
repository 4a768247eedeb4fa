"""``herald serve``: the index, source and digest pages, the feed files, /healthz and /metrics.

``app`` assembles the Starlette application, one module per concern: ``pages`` (HTML),
``feedfiles`` (``/feeds/…``), ``health`` (``/healthz``), ``metrics`` (``/metrics``), ``api``
(``/api/v1``, its request data in ``apidata``, its document in ``openapi``), ``headers``
(security headers) and ``server`` (uvicorn, alone or beside ``herald run``). Nothing here
builds SQL (``worker.store`` does) or writes feed files (``worker.publish`` does); every error
shown is redacted.
"""

from worker.web.app import create_app

__all__ = ["create_app"]
