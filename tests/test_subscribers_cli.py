"""`herald subscribers list` and `herald subscribers test NAME` against real fakes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.conftest import SECRET, write_config
from tests.support.chat_fakes import FakeTelegram, FakeWeCom, pings
from worker.cli import main
from worker.demo.receiver import WebhookReceiver


def chat_subscribers(wecom: FakeWeCom, telegram: FakeTelegram) -> str:
    """A WeCom robot ``wecom`` and a Telegram chat ``tg`` (chat 42) on the fakes."""
    return f"""
[[subscribers]]
name = "wecom"
channel = "wecom"
url = "{wecom.url()}"
[[subscribers]]
name = "tg"
channel = "telegram"
url = "{telegram.url()}"
chat_id = "42"
"""


def test_list_and_test_every_kind_of_subscriber(tmp_path: Path) -> None:
    with (
        FakeWeCom() as wecom,
        FakeTelegram(chats=["42"]) as telegram,
        WebhookReceiver(secret=SECRET) as hook,
    ):
        subscribers = (
            chat_subscribers(wecom, telegram)
            + f"""
[[subscribers]]
name = "hook"
channel = "webhook"
url = "{hook.url()}"
secret = "{SECRET}"
[[subscribers]]
name = "wrong-key"
channel = "wecom"
url = "{wecom.url(key="nope")}"
"""
        )
        path = write_config(tmp_path, sources="", subscribers=subscribers)
        runner = CliRunner()
        listed = runner.invoke(
            main, ["--config", str(path), "subscribers", "list"], env={"COLUMNS": "200"}
        )
        assert listed.exit_code == 0 and "telegram" in listed.output
        assert SECRET not in listed.output
        for name in ("wecom", "tg", "hook"):
            result = runner.invoke(main, ["--config", str(path), "subscribers", "test", name])
            assert result.exit_code == 0, result.output
            assert "delivered" in result.output
        assert len(wecom.messages()) == 1 and pings(wecom.messages()[0]) == []
        assert "测试消息" in wecom.messages()[0].text
        assert len(telegram.messages()) == 1 and len(hook.messages()) == 1
        failed = runner.invoke(main, ["--config", str(path), "subscribers", "test", "wrong-key"])
        assert failed.exit_code == 1 and "93000" in failed.output
        missing = runner.invoke(main, ["--config", str(path), "subscribers", "test", "nobody"])
        assert missing.exit_code == 2


def test_messages_go_out_with_the_configured_user_agent(tmp_path: Path) -> None:
    """``[network] user_agent`` names herald to subscribers' endpoints too, not only to sites."""
    agent = "ExampleOrg-herald/2.0 (+https://ops.example.org/bots)"
    with FakeWeCom() as wecom, FakeTelegram(chats=["42"]) as telegram:
        path = write_config(tmp_path, sources="", subscribers=chat_subscribers(wecom, telegram))
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("[network]\n", f'[network]\nuser_agent = "{agent}"\n', 1))
        runner = CliRunner()
        for name in ("wecom", "tg"):
            result = runner.invoke(main, ["--config", str(path), "subscribers", "test", name])
            assert result.exit_code == 0, result.output
        sent = wecom.messages() + telegram.messages()
        assert [message.headers.get("User-Agent") for message in sent] == [agent, agent]
