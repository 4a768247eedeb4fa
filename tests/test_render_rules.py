"""The render fallback's rules without a browser: what counts as a challenge, the ``[browser]``
and ``render`` config keys, and what ``herald doctor`` says about rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker.challenge import is_challenge
from worker.config import ConfigError, load_config
from worker.doctor import browser_check
from worker.render.locate import describe_rendering, locate_chromium

CHALLENGE_PAGE = """<html><body><script>var x = 'abc';
document.cookie = "acw_sc__v2=" + x + "; path=/"; location.reload();</script></body></html>"""
LIST_PAGE = (
    "<html><body><ul>"
    + "".join(f'<li><a href="/a/{n}.html">第{n}篇</a></li>' for n in range(20))
    + "</ul><script>document.cookie='seen=1'; location.href='#top';</script></body></html>"
)


def test_what_counts_as_a_challenge() -> None:
    assert is_challenge(521, "") and is_challenge(412, "anything")
    assert is_challenge(503, "<script>document.cookie='__jsl_clearance=1'</script>")
    assert not is_challenge(503, "Service Unavailable")
    assert not is_challenge(404, CHALLENGE_PAGE)
    assert is_challenge(200, CHALLENGE_PAGE)  # a 200 that only sets a cookie and reloads
    assert not is_challenge(200, LIST_PAGE)  # a real page that happens to set a cookie
    assert not is_challenge(200, CHALLENGE_PAGE + "<p>" + "正文" * 12_000 + "</p>")
    assert not is_challenge(None, CHALLENGE_PAGE)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "herald.toml"
    path.write_text(text, encoding="utf-8")
    return path


SOURCE = '[[sources]]\nname = "a"\nurl = "https://www.example.gov.cn/"\nkind = "auto"\n'


def test_browser_and_render_keys(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SOURCE + 'render = "always"\n'))
    assert config.sources[0].render == "always"
    assert config.browser.enabled is None and config.browser.timeout == 30.0
    assert load_config(write(tmp_path, SOURCE)).sources[0].render == "auto"
    config = load_config(
        write(tmp_path, '[browser]\nenabled = false\ntimeout = "10s"\nkeep_open = "1m"\n' + SOURCE)
    )
    assert (config.browser.enabled, config.browser.timeout, config.browser.keep_open) == (
        False, 10.0, 60.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (SOURCE + 'render = "sometimes"\n', r'sources\["a"\]\.render'),
        ("[browser]\nmax_concurrent = 0\n", r"browser\.max_concurrent"),
        ('[browser]\nexecutable = "/no/such/chromium"\n', r"browser\.executable"),
        ("[browser]\nheadless = false\n", r"browser\.headless"),
    ],
)
def test_browser_mistakes_are_named(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(write(tmp_path, text))


def test_doctor_and_status_say_whether_rendering_is_available(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = load_config(write(tmp_path, "[browser]\nenabled = false\n"))
    assert browser_check(off).status == "ok" and "off" in browser_check(off).detail
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    missing = load_config(write(tmp_path, ""))
    assert not locate_chromium()
    assert describe_rendering(missing.browser)[0] is False
    assert browser_check(missing).status == "warn"
    assert "not available" in browser_check(missing).detail
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Chromium 1.2.3'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{tmp_path / 'empty'}")
    found = load_config(write(tmp_path, ""))
    check = browser_check(found)
    assert check.status == "ok" and str(fake) in check.detail and "Chromium 1.2.3" in check.detail
