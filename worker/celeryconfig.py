"""Celery reads this module lazily (``config_from_object``): herald's config as Celery settings."""

from __future__ import annotations

from worker.celery_app import celery_settings
from worker.runtime import current_config

globals().update(celery_settings(current_config()))
