"""Secrets in the configuration: read from the environment with ``env:NAME``, shown by origin
and never by value, unsigned webhooks flagged, config files written 0600, and ``herald init``
generating a fresh signing secret."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import SECRET, write_config
from worker.cli import main
from worker.config import ConfigError, load_config, parse_config
from worker.notify.webhook import decode_secret

HOOK = """
[[subscribers]]
name = "hook"
channel = "webhook"
url = "{url}"
secret = "{secret}"
"""
TOKEN_URL = "https://oapi.dingtalk.com/robot/send?access_token=dt-0123456789abcdef"


def test_subscriber_url_and_secret_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", "https://example.org/hooks/in?token=from-env")
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    text = HOOK.format(url="env:HOOK_URL", secret="env:HOOK_SECRET")
    config = load_config(write_config(tmp_path, sources="", subscribers=text))
    (sub,) = config.subscribers
    assert sub.url == "https://example.org/hooks/in?token=from-env" and sub.secret == SECRET
    assert sub.env_name("url") == "HOOK_URL" and sub.env_name("secret") == "HOOK_SECRET"
    assert sub.env_name("chat_id") == ""


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_or_empty_variable_names_the_file_the_key_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("HOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("HOOK_SECRET", value)
    text = HOOK.format(url="https://example.org/in", secret="env:HOOK_SECRET")
    path = write_config(tmp_path, sources="", subscribers=text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f'{path}: subscribers["hook"].secret: environment variable HOOK_SECRET is not set or empty'
    )


def test_an_environment_value_is_checked_like_a_written_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "whsec_not*base64")
    text = HOOK.format(url="https://example.org/in", secret="env:HOOK_SECRET")
    with pytest.raises(ConfigError, match=r'subscribers\["hook"\]\.secret: webhook: secret after'):
        load_config(write_config(tmp_path, sources="", subscribers=text))
    with pytest.raises(ConfigError, match=r'subscribers\["h"\]\.url: expected env:NAME'):
        parse_config({"subscribers": [{"name": "h", "channel": "webhook", "url": "env:1-x"}]})


def test_a_wrong_environment_value_is_named_by_its_variable_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", "not-a-url-but-a-token-TOPSECRET")
    monkeypatch.setenv("HERALD_DB", "mysql://root:TOPSECRET@db/herald")
    text = HOOK.format(url="env:HOOK_URL", secret="")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, sources="", subscribers=text))
    assert 'environment variable HOOK_URL (for subscribers["hook"].url)' in str(caught.value)
    assert "TOPSECRET" not in str(caught.value)
    with pytest.raises(ConfigError) as db:
        parse_config({"herald": {"database_url": "env:HERALD_DB"}})
    assert "environment variable HERALD_DB" in str(db.value) and "TOPSECRET" not in str(db.value)


def test_database_and_broker_urls_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HERALD_DATABASE_URL", "HERALD_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PG_DSN", "postgresql://herald:pw@db/herald")
    monkeypatch.setenv("REDIS_URL", "redis://:pw@cache:6379/0")
    path = write_config(tmp_path, sources="", database_url="env:PG_DSN", broker_url="env:REDIS_URL")
    config = load_config(path)
    assert config.herald.database_url == "postgresql://herald:pw@db/herald"
    assert config.herald.broker_url == "redis://:pw@cache:6379/0"
    monkeypatch.setenv("HERALD_DATABASE_URL", "postgresql://other@db/herald")  # still wins
    assert load_config(path).herald.database_url == "postgresql://other@db/herald"
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(ConfigError, match=r"herald\.broker_url: environment variable REDIS_URL"):
        load_config(path)


def test_an_unsigned_webhook_is_warned_about_and_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DT_SECRET", "SEC" + "ab" * 32)
    subscribers = (
        HOOK.format(url="https://example.org/in", secret="").replace('secret = ""\n', "")
        + HOOK.format(url="https://example.org/b", secret=SECRET).replace('"hook"', '"signed"')
        + f'[[subscribers]]\nname = "dt"\nchannel = "dingtalk"\nurl = "{TOKEN_URL}"\n'
        'secret = "env:DT_SECRET"\n'
    )
    path = write_config(tmp_path, sources="", subscribers=subscribers)
    with caplog.at_level(logging.WARNING, logger="worker.config"):
        load_config(path)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: subscribers[\"hook\"].secret: not set: webhook subscriber 'hook' sends unsigned "
        "requests (receivers cannot verify they come from herald)"
    ]
    result = CliRunner().invoke(
        main, ["--config", str(path), "subscribers", "list"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "unsigned" in rows["hook"] and "unsigned" not in rows["signed"]
    assert "env:DT_SECRET" in rows["dt"] and "file" in rows["signed"]
    assert SECRET not in result.output and "ab" * 32 not in result.output
    assert "dt-0123456789abcdef" not in result.output
    assert 'subscribers["hook"].secret: not set' in result.output  # the warning, on stderr


def test_init_writes_0600_with_a_fresh_secret(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    for target in (first, second):
        result = CliRunner().invoke(main, ["init", "--path", str(target)])
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    secrets = [load_config(p).subscribers[0].secret for p in (first, second)]
    assert secrets[0] != secrets[1]
    for secret in secrets:
        assert len(decode_secret(secret)) == 32 and secret not in result.output
    first.chmod(0o644)
    forced = CliRunner().invoke(main, ["init", "--path", str(first), "--force"])
    assert forced.exit_code == 0 and stat.S_IMODE(first.stat().st_mode) == 0o600


def test_the_example_holds_no_concrete_secret() -> None:
    example = (Path(__file__).parents[1] / "worker" / "example.toml").read_text("utf-8")
    for line in example.splitlines():
        value = line.split("#", 1)[0]
        if "whsec_" in value:
            encoded = value.split("whsec_", 1)[1].split('"', 1)[0]
            with pytest.raises(ValueError):
                base64.b64decode(encoded, validate=True)


def test_editing_the_config_keeps_it_private_and_env_references_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEW_HOOK_SECRET", SECRET)
    path = write_config(tmp_path, sources="")
    path.chmod(0o644)
    result = CliRunner().invoke(
        main,
        ["--config", str(path), "subscribers", "add", "new-hook", "--channel", "webhook",
         "--url", "https://example.org/in", "--secret", "env:NEW_HOOK_SECRET"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text("utf-8")
    assert 'secret = "env:NEW_HOOK_SECRET"' in text and SECRET not in text
    os.chmod(path, 0o640)
    removed = CliRunner().invoke(main, ["--config", str(path), "subscribers", "remove", "new-hook"])
    assert removed.exit_code == 0, removed.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
