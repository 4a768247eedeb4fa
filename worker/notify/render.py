"""Jinja2 rendering of messages: one environment over ``templates/``, per-dialect escaping.

An operator overrides any template with a file (the subscriber's ``template`` option). Every
template whose name says HTML is autoescaped, the shipped ones and overrides alike, and all of
them run in Jinja's sandbox (no attribute walk to Python internals). This
module renders text only; it must not send anything or decide sizes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from worker.notify.message import Message

TEMPLATES_ENV = "HERALD_TEMPLATES_DIR"


def templates_dir() -> Path:
    """``$HERALD_TEMPLATES_DIR``, else the ``templates/`` shipped inside the package."""
    configured = os.environ.get(TEMPLATES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1] / "templates"


HTML_SUFFIXES = (".html", ".htm", ".html.j2", ".htm.j2")


def is_html_template(name: str | None) -> bool:
    """Whether a template writes HTML, judged by its whole name (``telegram.html.j2``), any case."""
    return bool(name) and str(name).lower().endswith(HTML_SUFFIXES)


@functools.lru_cache(maxsize=8)
def environment(directory: str) -> jinja2.Environment:
    """The environment over one folder: HTML templates (by name) autoescaped, others not."""
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=is_html_template,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_document(name: str, context: Mapping[str, Any], *, override: str = "") -> str:
    """Render document template ``name`` (or the operator's ``override`` file) with ``context``.

    HTML templates (``*.html``, ``*.htm``, ``*.html.j2``, ``*.htm.j2``) are autoescaped; the
    others get their escaping functions through ``context``.
    """
    if override:
        path = Path(override)
        template = environment(str(path.parent)).get_template(path.name)
    else:
        template = environment(str(templates_dir())).get_template(name)
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
    through them. Functions, not filters: the environment is shared by all channels. An HTML
    template (by name, see ``is_html_template``) is autoescaped as well; the escapers return
    ``Markup``, so their output is not escaped twice.
    """
    if override:
        path = Path(override)
        template = environment(str(path.parent)).get_template(path.name)
    else:
        template = environment(str(templates_dir())).get_template(name)
    context = {"message": message, "entries": message.entries, **(escapers or {}), **(extra or {})}
    return template.render(context).strip()
