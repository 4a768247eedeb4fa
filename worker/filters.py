"""Pure subscriber filters: which articles a subscriber asked for. No I/O.

``tags`` (any of them), ``include`` (any keyword in the title or summary), ``exclude`` (none
of them) and ``regex`` (searched in the title and summary). Sources are filtered by the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from worker.models import Article


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def wants(options: Mapping[str, Any], article: Article) -> bool:
    """Does a subscriber with these options want this article?"""
    text = f"{article.title}\n{article.summary}".lower()
    tags = options.get("tags") or ()
    if tags and not set(tags) & set(article.tags):
        return False
    include = [k.lower() for k in options.get("include") or ()]
    if include and not any(k in text for k in include):
        return False
    if any(k.lower() in text for k in options.get("exclude") or ()):
        return False
    pattern = options.get("regex") or ""
    return (
        not pattern or _compiled(pattern).search(f"{article.title}\n{article.summary}") is not None
    )
