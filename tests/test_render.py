"""Template rendering: every template whose output is HTML is autoescaped, whatever its name."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup

from worker.notify.message import Entry, Message
from worker.notify.render import render_document, render_template

HOSTILE = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
MESSAGE = Message(kind="instant", heading=HOSTILE, entries=(Entry(title=HOSTILE, url="http://a/"),))


def write_template(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("{{ message.title }}|{% for e in entries %}{{ e.title }}{% endfor %}")
    return path


@pytest.mark.parametrize(
    "name", ["mine.html", "mine.htm", "mine.html.j2", "mine.htm.j2", "MINE.HTML.J2"]
)
def test_an_operator_override_that_writes_html_is_autoescaped(tmp_path: Path, name: str) -> None:
    override = write_template(tmp_path, name)
    text = render_template("telegram.html.j2", MESSAGE, override=str(override))
    assert text == f"{ESCAPED}|{ESCAPED}"


@pytest.mark.parametrize("name", ["mine.md.j2", "mine.txt.j2", "mine.json.j2", "mine.j2"])
def test_templates_of_other_formats_are_left_to_their_escapers(tmp_path: Path, name: str) -> None:
    override = write_template(tmp_path, name)
    assert render_template("discord.md.j2", MESSAGE, override=str(override)).startswith(HOSTILE)


def test_a_channel_template_named_html_j2_is_autoescaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_template(tmp_path, "telegram.html.j2")
    monkeypatch.setenv("HERALD_TEMPLATES_DIR", str(tmp_path))
    assert render_template("telegram.html.j2", MESSAGE) == f"{ESCAPED}|{ESCAPED}"


def test_escaping_functions_returning_markup_are_not_escaped_twice(tmp_path: Path) -> None:
    override = tmp_path / "mine.html.j2"
    override.write_text("{{ esc(message.title) }}")
    escapers = {"esc": lambda text: Markup("<b>") + text + Markup("</b>")}
    text = render_template("telegram.html.j2", MESSAGE, override=str(override), escapers=escapers)
    assert text == f"<b>{ESCAPED}</b>"


def test_document_overrides_follow_the_same_rule(tmp_path: Path) -> None:
    override = tmp_path / "page.htm.j2"
    override.write_text("{{ title }}")
    assert render_document("digest.html.j2", {"title": HOSTILE}, override=str(override)) == (
        ESCAPED + "\n"
    )


def test_templates_run_in_the_sandbox(tmp_path: Path) -> None:
    from jinja2.exceptions import SecurityError

    override = tmp_path / "evil.md.j2"
    override.write_text("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "utf-8")
    with pytest.raises(SecurityError):
        render_template("discord.md.j2", MESSAGE, override=str(override))
