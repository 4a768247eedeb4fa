"""The JSON API on a real `herald serve`: token, validation naming the field, writes that keep
the config file's comments, a created subscriber that receives messages, OpenAPI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import SECRET, site_source, webhook_subscriber, write_config
from tests.support.cms_sites import HanwebSite
from tests.support.fault_cluster import free_port, tail, wait_until
from tests.support.served import serve_process
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once

TOKEN = "api-token-9f8e7d"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    def __init__(self, root: str, config: Path) -> None:
        self.root, self.config = root, config

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = kwargs.pop("headers", AUTH)
        return requests.request(
            method,
            self.root + path.lstrip("/"),
            headers=headers,
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture()
def api(tmp_path: Path, site: DemoSite) -> Iterator[Api]:
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1),
        web=f'enabled = false\napi_token = "{TOKEN}"',
    )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    path.write_text("# my herald — hand-written comment\n" + text, encoding="utf-8")
    with serve_process(path, free_port(), tmp_path / "serve.log") as root:
        yield Api(root, path)


def test_the_api_is_off_without_a_token_and_refuses_requests_without_it(
    tmp_path: Path, api: Api
) -> None:
    assert api.call("GET", "api/v1/sources", headers={}).status_code == 401
    wrong = api.call("GET", "api/v1/sources", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.call("GET", "api/v1/sources").status_code == 200
    assert api.call("GET", "api/v1/openapi.json", headers={}).status_code == 200
    (tmp_path / "off").mkdir()
    off = write_config(tmp_path / "off", sources="")
    with serve_process(off, free_port(), tmp_path / "off.log") as root:
        assert requests.get(root + "api/v1/sources", headers=AUTH, timeout=10).status_code == 404
        assert requests.get(root + "api/v1/subscribers", timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "x", "channel": "webhook", "url": "not a url"}, 422, "url"),
        ({"name": "x", "channel": "webhook", "url": "http://10.1.2.3/hook"}, 422, "url"),
        ({"name": "x", "channel": "webhook", "url": "http://169.254.169.254/"}, 422, "url"),
        ({"name": "x", "channel": "pager", "url": "https://example.org/h"}, 422, "channel"),
        ({"name": "x", "channel": "webhook", "url": "https://example.org/h",
          "secret": "whsec_!!not-base64!!"}, 422, "secret"),
        ({"name": "X Y", "channel": "webhook", "url": "https://example.org/h"}, 422, "name"),
        ({"name": "x", "channel": "webhook", "url": "https://example.org/h", "colour": 1},
         422, "colour"),
        ({"name": "x", "channel": "webhook", "url": "https://example.org/h", "sources": ["no"]},
         422, "sources"),
        ({"channel": "webhook", "url": "https://example.org/h"}, 422, "name"),
        ({"name": "x", "channel": "telegram", "url": "https://api.telegram.org/bot1:a/send"},
         422, "chat_id"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_4xx_naming_the_field_and_leaves_the_file(
    api: Api, body: dict[str, object], status: int, field: str
) -> None:
    before = api.config.read_bytes()
    reply = api.call("POST", "api/v1/subscribers", json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["field"] == field and reply.json()["error"]
    assert api.config.read_bytes() == before


def test_malformed_bodies_and_duplicates(api: Api) -> None:
    assert api.call("POST", "api/v1/subscribers", data=b"{nope").status_code == 400
    assert api.call("POST", "api/v1/subscribers", json=[1]).status_code == 400
    body = {"name": "dup", "channel": "webhook", "url": "https://example.org/h",
            "secret": SECRET}  # fmt: skip
    assert api.call("POST", "api/v1/subscribers", json=body).status_code == 201
    again = api.call("POST", "api/v1/subscribers", json=body)
    assert again.status_code == 409 and again.json()["field"] == "name"
    assert api.call("GET", "api/v1/subscribers/nobody").status_code == 404
    assert (
        api.call("PATCH", "api/v1/subscribers/dup", json={"name": "other"}).json()["field"]
        == "name"
    )


def test_a_subscriber_created_through_the_api_receives_messages(api: Api, site: DemoSite) -> None:
    run_once(load_config(api.config))  # the column's existing articles, imported silently
    with WebhookReceiver(secret=SECRET) as hook:
        body = {"name": "team-hook", "channel": "webhook", "url": hook.url("/h"),
                "secret": SECRET, "mode": "instant", "tags": ["工作案例"]}  # fmt: skip
        created = api.call("POST", "api/v1/subscribers", json=body)
        assert created.status_code == 201, created.text
        assert created.headers["Location"] == "/api/v1/subscribers/team-hook"
        shown = created.json()
        assert shown["secret"] == "***" and SECRET not in created.text
        assert shown["tags"] == ["工作案例"] and shown["mode"] == "instant"
        text = api.config.read_text(encoding="utf-8")
        assert text.startswith("# my herald — hand-written comment\n")
        assert 'name = "team-hook"' in text
        trial = api.call("POST", "api/v1/subscribers/team-hook/test")
        assert trial.status_code == 200 and trial.json()["outcome"] == "delivered"
        added = site.add_article()
        run_once(load_config(api.config))
        assert wait_until(lambda: len(hook.messages()) == 2, 10)
        (message,) = [m for m in hook.messages() if m.payload["type"] == "article.created"]
        assert message.payload["data"]["url"] == site.article_url(added.id)
        listed = api.call("GET", "api/v1/subscribers").json()
        assert [s["name"] for s in listed] == ["team-hook"]


def test_patch_and_delete_edit_the_file_keeping_its_comments(api: Api) -> None:
    body = {"name": "brief", "channel": "wecom",
            "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY123"}  # fmt: skip
    created = api.call("POST", "api/v1/subscribers", json=body)
    assert created.status_code == 201 and "SECRETKEY123" not in created.text
    changed = api.call(
        "PATCH", "api/v1/subscribers/brief",
        json={"mode": "digest", "schedule": "0 8 * * 1-5", "mentions": {"all": True}},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["mode"] == "digest" and changed.json()["mentions"]["all"] is True
    config = load_config(api.config)
    assert config.subscribers[0].options.schedule == "0 8 * * 1-5"
    bad = api.call("PATCH", "api/v1/subscribers/brief", json={"schedule": "every day"})
    assert bad.status_code == 422 and bad.json()["field"] == "schedule"
    assert api.call("DELETE", "api/v1/subscribers/brief").status_code == 204
    assert load_config(api.config).subscribers == ()
    assert api.config.read_text(encoding="utf-8").startswith("# my herald")
    assert api.call("DELETE", "api/v1/subscribers/brief").status_code == 404


def test_detect_then_create_a_source(api: Api, site: DemoSite) -> None:
    with HanwebSite(articles=23, per_page=5) as column:
        found = api.call(
            "POST", "api/v1/sources/detect", json={"url": column.list_url, "name": "col2"}
        )
    assert found.status_code == 200, found.text
    detected = found.json()
    assert detected["kind"] == "hanweb" and len(detected["items"]) >= 5
    assert detected["config"]["name"] == "col2" and detected["config"]["url"]
    created = api.call("POST", "api/v1/sources", json=detected["config"])
    assert created.status_code == 201, created.text
    one = api.call("GET", "api/v1/sources/col2").json()
    assert one["kind"] == detected["kind"] and one["state"]["status"] == "new"
    names = [s["name"] for s in api.call("GET", "api/v1/sources").json()]
    assert names == ["cases", "col2"]
    bad = api.call("POST", "api/v1/sources/detect", json={"url": "ftp://x"})
    assert bad.status_code == 422 and bad.json()["field"] == "url"
    wrong = api.call("POST", "api/v1/sources", json={"name": "x", "url": site.list_url,
                                                     "kind": "rss"})  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["field"] == "kind"


def test_a_source_a_subscriber_names_cannot_be_deleted(api: Api) -> None:
    body = {"name": "only-cases", "channel": "webhook", "url": "https://example.org/h",
            "secret": SECRET, "sources": ["cases"]}  # fmt: skip
    assert api.call("POST", "api/v1/subscribers", json=body).status_code == 201
    refused = api.call("DELETE", "api/v1/sources/cases")
    assert refused.status_code == 422 and refused.json()["field"] == "sources"
    assert "cases" in api.config.read_text(encoding="utf-8")


def test_openapi_documents_every_endpoint_and_the_config_fields(api: Api) -> None:
    doc = api.call("GET", "api/v1/openapi.json", headers={}).json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, methods in {
        "/api/v1/sources": {"get", "post"},
        "/api/v1/sources/{name}": {"get", "patch", "delete"},
        "/api/v1/sources/detect": {"post"},
        "/api/v1/subscribers": {"get", "post"},
        "/api/v1/subscribers/{name}": {"get", "patch", "delete"},
        "/api/v1/subscribers/{name}/test": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
    subscriber = doc["components"]["schemas"]["Subscriber"]
    assert subscriber["required"] == ["name", "channel", "url"]
    assert "webhook" in subscriber["properties"]["channel"]["enum"]
    assert {"secret", "mode", "schedule", "mentions"} <= set(subscriber["properties"])


def test_a_running_worker_picks_up_an_api_change_without_a_restart(
    tmp_path: Path, site: DemoSite
) -> None:
    with WebhookReceiver(secret=SECRET) as first, WebhookReceiver(secret=SECRET) as second:
        path = write_config(
            tmp_path,
            sources=site_source(site, backfill=1, interval="2s"),
            subscribers=webhook_subscriber(first.url("/h")),
            extra_herald='sweep_interval = "1s"',
            web=f'port = {free_port()}\napi_token = "{TOKEN}"',
        )
        port = load_config(path).web.port
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", "--config", str(path), "run"],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        root = f"http://127.0.0.1:{port}/"
        try:
            assert wait_until(lambda: _up(root), 30), tail(log)
            assert wait_until(lambda: _articles(tmp_path) >= 10, 30), tail(log)  # first poll done
            body = {"name": "late", "channel": "webhook", "url": second.url("/h"),
                    "secret": SECRET}  # fmt: skip
            created = requests.post(root + "api/v1/subscribers", json=body, headers=AUTH,
                                    timeout=30)  # fmt: skip
            assert created.status_code == 201, created.text
            added = site.add_article()
            url = site.article_url(added.id)
            got = wait_until(
                lambda: any(m.payload["data"].get("url") == url for m in second.messages()), 40
            )
            assert got, tail(log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _articles(directory: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(directory / "herald.db") as conn:
            return int(conn.execute("select count(*) from articles").fetchone()[0])
    except sqlite3.Error:
        return 0


def _up(root: str) -> bool:
    try:
        return requests.get(root + "healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_values_the_api_may_not_write_are_refused_without_echoing_them(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = api.config.read_bytes()
    base = {"name": "x", "channel": "webhook", "url": "https://example.org/h"}
    template = api.call("POST", "api/v1/subscribers", json={**base, "template": "/etc/passwd"})
    assert template.status_code == 422 and template.json()["field"] == "template"
    env = api.call("POST", "api/v1/subscribers", json={**base, "url": "env:HOME"})
    assert env.status_code == 422 and env.json()["field"] == "url"
    assert str(Path.home()) not in env.text
    redacted = api.call("POST", "api/v1/subscribers", json={**base, "secret": "***"})
    assert redacted.status_code == 422 and redacted.json()["field"] == "secret"
    nan = api.call(
        "POST", "api/v1/sources", data=b'{"name": "n", "url": "https://e.org/", "kind": "feed",'
        b' "interval": NaN}', headers={**AUTH, "Content-Type": "application/json"},
    )  # fmt: skip
    assert nan.status_code == 400
    source = {"name": "n", "url": "https://e.org/", "kind": "feed", "interval": 1e300}
    huge = api.call("POST", "api/v1/sources", json=source)
    assert huge.status_code == 422 and huge.json()["field"] == "interval"
    surrogate = api.call(
        "POST", "api/v1/subscribers", data=b'{"name": "x", "url": "https://e.org/\\ud800"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )  # fmt: skip
    assert surrogate.status_code == 400
    deep = api.call("POST", "api/v1/subscribers", data=b"[" * 100_000 + b"]" * 100_000)
    assert deep.status_code == 400
    assert api.config.read_bytes() == before


def test_a_body_too_large_is_refused_before_it_is_read(api: Api) -> None:
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert api.call("POST", "api/v1/subscribers", data=big).status_code == 413
    assert api.call("POST", "api/v1/subscribers", data=big, headers={}).status_code == 401


def test_what_get_shows_can_be_sent_back_without_losing_the_url_or_secret(api: Api) -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=REALKEY42"
    body = {"name": "brief", "channel": "webhook", "url": url, "secret": SECRET,
            "quiet_hours": "22:00-08:00"}  # fmt: skip
    assert api.call("POST", "api/v1/subscribers", json=body).status_code == 201
    shown = api.call("GET", "api/v1/subscribers/brief").json()
    assert "REALKEY42" not in str(shown) and shown["secret"] == "***"
    changed = api.call("PATCH", "api/v1/subscribers/brief", json={**shown, "ops_alerts": True})
    assert changed.status_code == 200, changed.text
    sub = load_config(api.config).subscribers[0]
    assert (sub.url, sub.secret, sub.ops_alerts) == (url, SECRET, True)
    text = api.config.read_text(encoding="utf-8")
    assert "***" not in text and "min_items" not in text  # no defaults written back
    cleared = api.call("PATCH", "api/v1/subscribers/brief", json={"quiet_hours": None})
    assert cleared.status_code == 200 and cleared.json()["quiet_hours"] == ""
    assert "quiet_hours" not in api.config.read_text(encoding="utf-8")
