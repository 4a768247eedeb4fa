"""herald: sites without feeds → store → RSS/Atom/JSON feeds → chat webhooks, on Celery.

``celery -A worker worker`` and ``celery -A worker beat`` find the Celery app here.
"""

from worker.celery_app import app

__all__ = ["app"]
