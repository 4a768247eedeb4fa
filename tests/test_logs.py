"""The CLI's log handler: key=value extras, and every record redacted before it is written."""

from __future__ import annotations

import logging

import pytest

from worker.logs import setup_logging

TOKEN = "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"


def test_messages_arguments_extras_and_tracebacks_are_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(logging.INFO)
    log = logging.getLogger("worker.deliver")
    url = f"https://hooks.slack.com/services/T1/B2/{TOKEN}"
    log.warning("deliver: failed (%s)", f"connection to {url} refused", extra={"subscriber": "s"})
    log.info("ingest: new", extra={"article_url": f"https://example.org/a?token={TOKEN}"})
    try:
        raise ConnectionError(f"POST {url} failed")
    except ConnectionError:
        log.exception("send failed")
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "WARNING worker.deliver: deliver: failed (connection to " in err
    assert "https://hooks.slack.com/services/T1/B2/*** refused) subscriber=s" in err
    assert "article_url=https://example.org/a?token=***" in err
    assert "ConnectionError: POST https://hooks.slack.com/services/T1/B2/*** failed" in err


def test_a_record_with_bad_arguments_is_still_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(logging.INFO)
    logging.getLogger("worker.x").warning("two %s %s", f"redis://:{TOKEN}@h/0")
    err = capsys.readouterr().err
    assert TOKEN not in err and "redis://:***@h/0" in err


def test_setting_up_again_changes_only_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(logging.WARNING)
    setup_logging(logging.DEBUG)
    logging.getLogger("worker.y").debug("once")
    assert capsys.readouterr().err.count("once") == 1
    setup_logging(logging.WARNING)
