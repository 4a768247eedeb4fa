"""The e-mail channel against a local SMTP relay (aiosmtpd) that checks the MIME structure: digests
and folded instant mails as multipart/alternative, SMTP replies into the ledger (4xx retried, 5xx
permanent), STARTTLS when offered or required, implicit TLS, AUTH with the password from the
environment, and the operator's relay reached wherever it is."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import site_source, write_config
from tests.support.smtp import MailRelay, self_signed
from worker.cli import main
from worker.config import ConfigError, load_config, parse_config
from worker.demo.site import DemoSite
from worker.digest import page_fragment
from worker.embedded import run_once

pytestmark = pytest.mark.timeout(120)


def inbox(*, mode: str = "instant", to: str = '["team@example.cn"]') -> str:
    return f"""
[[subscribers]]
name = "inbox"
channel = "email"
to = {to}
from = "herald <herald@example.cn>"
mode = "{mode}"
"""


def smtp_section(relay: MailRelay, settings: str = 'starttls = "never"') -> str:
    return f'[smtp]\nhost = "127.0.0.1"\nport = {relay.port}\n{settings}\n'


def cli(path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["--config", str(path), *args], env=env)


def ledger(directory: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(directory / "herald.db") as conn:
        return list(conn.execute("select status, attempts, last_error from deliveries"))


@pytest.fixture()
def relay() -> Iterator[MailRelay]:
    server = MailRelay().start()
    yield server
    server.stop()


def test_a_digest_reaches_the_relay_as_one_well_formed_multipart_mail(
    tmp_path: Path, site: DemoSite, relay: MailRelay
) -> None:
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1), subscribers=inbox(mode="digest"),
        extra=smtp_section(relay),
    )  # fmt: skip
    config = load_config(path)
    run_once(config)
    first, second = site.add_article(), site.add_article()
    run_once(config)
    assert relay.mails == []  # a digest waits for its schedule
    result = cli(path, "digest", "send", "inbox")
    assert result.exit_code == 0, result.output
    (mail,) = relay.mails
    assert mail.problems == []
    assert mail.mail_from == "herald@example.cn" and mail.rcpt_tos == ["team@example.cn"]
    assert mail.message["From"] == "herald <herald@example.cn>"
    assert "2 篇" in mail.part("plain") and first.title in mail.part("plain")
    assert second.title in mail.part("html") and site.article_url(first.id) in mail.part("html")
    assert mail.message["List-Unsubscribe"] == (
        "<mailto:herald@example.cn?subject=unsubscribe%20inbox>"
    )
    assert ledger(tmp_path) == [("delivered", 1, "")]
    # one rendering, three outlets: the digest's page, its feed entry and its mail hold the same
    page = next((tmp_path / "feeds" / "digests" / "inbox").glob("*-*.html"))
    fragment = page_fragment(page.read_text(encoding="utf-8"))
    assert first.title in fragment and fragment in mail.part("html").replace("\r\n", "\n")
    assert cli(path, "feeds", "build").exit_code == 0
    feed = json.loads((tmp_path / "feeds" / "digests" / "inbox.json").read_text("utf-8"))
    assert [item["content_html"] for item in feed["items"]] == [fragment]


def test_new_articles_fold_into_one_mail_and_a_retry_is_the_same_mail(
    tmp_path: Path, site: DemoSite, relay: MailRelay
) -> None:
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=inbox(), extra=smtp_section(relay),
    )  # fmt: skip
    run_once(load_config(path))
    (mail,) = relay.mails
    assert mail.problems == [] and mail.message["Subject"] == "cases：10 篇新文章"
    titles = [article.title for article in site.articles[:10]]
    assert all(title in mail.part("plain") for title in titles)
    assert mail.message["Message-ID"].startswith("<msg_")


def test_smtp_replies_go_into_the_ledger(tmp_path: Path, site: DemoSite, relay: MailRelay) -> None:
    """451 is retried; 550 ends the delivery; the other subscriber is not held up."""
    subscribers = (
        inbox(to='["tempfail@example.cn"]')
        + inbox(to='["reject@example.cn"]').replace('"inbox"', '"gone"')
        + inbox().replace('"inbox"', '"team"')
    )
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=subscribers, extra=smtp_section(relay),
    )  # fmt: skip
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        rows = dict(
            conn.execute(
                "select s.name, d.status || ' ' || d.last_error from deliveries d"
                " join subscribers s on s.id = d.subscriber_id"
            ).fetchall()
        )
    assert rows["inbox"] == "pending email: SMTP 451 tempfail@example.cn: 4.7.1 Try again later"
    assert rows["gone"] == "failed email: SMTP 550 reject@example.cn: 5.1.1 No such user here"
    assert rows["team"] == "delivered "
    assert [m.rcpt_tos for m in relay.mails] == [["team@example.cn"]]


@pytest.fixture()
def certificate(tmp_path: Path) -> Any:
    return self_signed(tmp_path)


def test_starttls_when_offered_with_auth_from_the_environment(
    tmp_path: Path, site: DemoSite, certificate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, context = certificate
    relay = MailRelay(starttls=context, login=("herald", "s3cret-smtp")).start()
    try:
        monkeypatch.setenv("HERALD_SMTP_PASSWORD", "s3cret-smtp")
        settings = f'starttls = "auto"\nuser = "herald"\nca_file = "{cert}"'
        path = write_config(
            tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
            subscribers=inbox(), extra=smtp_section(relay, settings),
        )  # fmt: skip
        run_once(load_config(path))
        (mail,) = relay.mails
        assert mail.tls and mail.user == "herald" and mail.problems == []
        doctor = cli(path, "doctor").output
        assert f"ok   subscriber inbox: mail through smtp://127.0.0.1:{relay.port}" in doctor
        shown = cli(path, "deliveries", "list").output + doctor
        assert "s3cret-smtp" not in shown
    finally:
        relay.stop()


def test_a_refused_login_keeps_the_mail_for_a_retry(
    tmp_path: Path, site: DemoSite, certificate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """535 is a setting to fix, not a bad mail: the delivery waits instead of failing."""
    cert, context = certificate
    relay = MailRelay(starttls=context, login=("herald", "s3cret-smtp")).start()
    try:
        monkeypatch.setenv("HERALD_SMTP_PASSWORD", "wrong-password")
        settings = f'user = "herald"\nca_file = "{cert}"'
        path = write_config(
            tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
            subscribers=inbox(), extra=smtp_section(relay, settings),
        )  # fmt: skip
        run_once(load_config(path))
        assert relay.mails == []
        ((status, attempts, error),) = ledger(tmp_path)
        assert status == "pending" and attempts == 1 and error.startswith("email: SMTP 535")
        assert "wrong-password" not in error
    finally:
        relay.stop()


def test_starttls_always_refuses_a_relay_that_does_not_offer_it(
    tmp_path: Path, site: DemoSite, relay: MailRelay
) -> None:
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=inbox(), extra=smtp_section(relay, 'starttls = "always"'),
    )  # fmt: skip
    run_once(load_config(path))
    assert relay.mails == []
    ((status, attempts, error),) = ledger(tmp_path)
    assert status == "pending" and attempts == 1 and "STARTTLS" in error


def test_implicit_tls(tmp_path: Path, site: DemoSite, certificate: Any) -> None:
    cert, context = certificate
    relay = MailRelay(implicit=context).start()
    try:
        path = write_config(
            tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
            subscribers=inbox(), extra=smtp_section(relay, f'tls = true\nca_file = "{cert}"'),
        )  # fmt: skip
        run_once(load_config(path))
        (mail,) = relay.mails
        assert mail.tls and mail.problems == []
    finally:
        relay.stop()


def test_the_relay_is_reached_wherever_the_operator_put_it(tmp_path: Path, site: DemoSite) -> None:
    """127.0.0.2 is not in the tests' allow list: a subscriber's URL there would be refused, but
    the [smtp] relay is the operator's own, named only in the config file."""
    relay = MailRelay(host="127.0.0.2").start()
    try:
        smtp = f'[smtp]\nhost = "127.0.0.2"\nport = {relay.port}\nstarttls = "never"\n'
        path = write_config(
            tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
            subscribers=inbox(), extra=smtp,
        )  # fmt: skip
        run_once(load_config(path))
        assert len(relay.mails) == 1 and ledger(tmp_path) == [("delivered", 1, "")]
        doctor = cli(path, "doctor").output
        assert f"ok   subscriber inbox: mail through smtp://127.0.0.2:{relay.port}" in doctor
    finally:
        relay.stop()


@pytest.mark.parametrize(
    ("subscriber", "smtp", "words"),
    [
        ({"to": ["a@example.cn"], "from": "h@example.cn"}, {}, "smtp.host: missing"),
        ({"from": "h@example.cn"}, {"host": "mx"}, ".to: missing"),
        ({"to": ["not an address"], "from": "h@example.cn"}, {"host": "mx"}, "expected an e-mail"),
        ({"to": "a@example.cn", "from": "h@example.cn\nBcc: x@evil.test"}, {"host": "mx"},
         "expected an e-mail"),
        ({"to": "a@example.cn", "from": "h@example.cn", "url": "https://x.test/"}, {"host": "mx"},
         '.url: not for channel = "email"'),
    ],
)  # fmt: skip
def test_email_config_mistakes_are_named(
    subscriber: dict[str, Any], smtp: dict[str, Any], words: str
) -> None:
    raw: dict[str, Any] = {
        "subscribers": [{"name": "inbox", "channel": "email", **subscriber}],
    }
    if smtp:
        raw["smtp"] = smtp
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert words in str(err.value)


def test_an_email_subscriber_is_added_from_the_command_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, sources="", extra='[smtp]\nhost = "smtp.example.cn"\n')
    added = cli(
        path, "subscribers", "add", "inbox", "--channel", "email",
        "--to", "a@example.cn, b@example.cn", "--from", "herald <h@example.cn>", "--mode", "digest",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    (sub,) = load_config(path).subscribers
    assert sub.url == "mailto:a@example.cn,b@example.cn"
    assert sub.options.mail_to == ("a@example.cn", "b@example.cn")
    missing = cli(path, "subscribers", "add", "x", "--channel", "email", "--to", "a@example.cn")
    assert missing.exit_code != 0 and 'subscribers["x"].from: missing' in missing.output
