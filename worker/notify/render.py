"""Jinja2 rendering of messages: one environment over ``templates/``, per-dialect escaping.

An operator overrides any template with a file (the subscriber's ``template`` option). This
module renders text only; it must not send anything or decide sizes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from worker.notify.message import Message

TEMPLATES_ENV = "HERALD_TEMPLATES_DIR"


def templates_dir() -> Path:
    """``$HERALD_TEMPLATES_DIR``, else the ``templates/`` shipped inside the package."""
    configured = os.environ.get(TEMPLATES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1] / "templates"


@functools.lru_cache(maxsize=8)
def environment(directory: str, autoescape_html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=jinja2.select_autoescape(["html", "htm"]) if autoescape_html else False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def _is_html(name: str | None) -> bool:
    return bool(name) and str(name).endswith((".html", ".htm", ".html.j2", ".htm.j2"))


@functools.lru_cache(maxsize=8)
def document_environment(directory: str) -> jinja2.Environment:
    """For whole documents (digest pages, e-mail, markdown, text): HTML always autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=_is_html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_document(name: str, context: Mapping[str, Any], *, override: str = "") -> str:
    """Render document template ``name`` (or the operator's ``override`` file) with ``context``.

    HTML templates (``*.html``, ``*.html.j2``) are autoescaped; the others get their escaping
    functions through ``context``.
    """
    if override:
        path = Path(override)
        template = document_environment(str(path.parent)).get_template(path.name)
    else:
        template = document_environment(str(templates_dir())).get_template(name)
    return template.render(dict(context)).strip() + "\n"


def render_template(
    name: str,
    message: Message,
    *,
    escapers: Mapping[str, Callable[[str], str]] | None = None,
    override: str = "",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render template ``name`` (or the operator's ``override`` file) for ``message``.

    ``escapers`` are the dialect's escaping functions, passed as template functions (e.g.
    ``{{ esc(entry.title) }}`` for WeCom markdown); templates pass every piece of content
    through them. Functions, not filters: the environment is shared by all channels.
    """
    if override:
        path = Path(override)
        env = environment(str(path.parent), path.suffix in (".html", ".htm"))
        template_name = path.name
    else:
        env = environment(str(templates_dir()), name.endswith((".html", ".htm", ".html.j2")))
        template_name = name
    template = env.get_template(template_name)
    context = {"message": message, "entries": message.entries, **(escapers or {}), **(extra or {})}
    return template.render(context).strip()
