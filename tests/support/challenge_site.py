"""A government-style column that fights back, for the render fallback's tests.

One server, several columns (each under its own path prefix):

- ``/jsl/`` (``/jsl`` redirects there): answers 521 with a script that reads the ``__jsluid``
  cookie the server set, computes ``__jsl_clearance`` from it and reloads (the 加速乐 pattern).
  Without that cookie every page — the column, its JSON and its articles — is the challenge
  again. The list is built by script from an XHR (``/jsl/data.json``), so even with the cookie
  the plain HTML has no links.
- ``/inline/``: no challenge; the list is built by script from base64-encoded JSON in the page.
- ``/twice/``: answers 412 until two script steps are done: the first sets ``step1``, the second
  computes ``step2`` from it (two reloads); then a plain HTML list.
- ``/hostile/``: a plain list whose script tries to reach other addresses (``targets``): a
  script tag, ``fetch``, an iframe, a WebSocket, an image, a dedicated and a shared worker
  (each with a ``fetch`` and a WebSocket), and a ``fetch`` of its own ``/hostile/bounce``, which
  redirects to the first target; and a GET, a DELETE and a POST to each of ``writable``.
- ``/spin/``: a page whose script never returns (``while (true) {}``).
- ``/plain/``: the same column with no challenge and no script (the baseline).

With ``forever`` set, ``/jsl/`` never accepts a clearance: its challenge never ends.

Every request is logged (path, cookies, user agent) so a test can see what a client did. It must
not be used outside the test suite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ARTICLES = 6
FIRST_DAY = date(2026, 11, 20)


def clearance_for(jsluid: str) -> str:
    """What the challenge script computes from ``__jsluid`` (the same in Python and JS)."""
    return "".join(reversed(jsluid)) + "-" + str(sum(ord(ch) for ch in jsluid) * 7)


def step2_for(step1: str) -> str:
    return str(int(step1) * 3 + 11)


@dataclass(frozen=True)
class Hit:
    path: str
    cookies: dict[str, str]
    user_agent: str
    status: int


@dataclass
class ChallengeSite:
    """Serves the columns on ``host`` (a loopback address)."""

    host: str = "127.0.0.1"
    targets: list[str] = field(default_factory=list)  # what /hostile/ tries to reach
    writable: list[str] = field(default_factory=list)  # allowed hosts /hostile/ tries to change
    hits: list[Hit] = field(default_factory=list)
    forever: bool = False
    articles: int = ARTICLES  # per column
    _server: ThreadingHTTPServer | None = None

    def start(self) -> ChallengeSite:
        site = self

        class Handler(_Handler):
            owner = site

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self, status: int | None = None) -> list[str]:
        return [hit.path for hit in self.hits if status is None or hit.status == status]


def article_title(column: str, number: int) -> str:
    return f"{column}栏目第{number}篇：关于开展基层科普工作的通知"


def article_day(number: int) -> date:
    return FIRST_DAY + timedelta(days=number)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: ChallengeSite

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        jar = SimpleCookie(self.headers.get("Cookie", ""))
        cookies = {name: morsel.value for name, morsel in jar.items()}
        column = path.strip("/").split("/", 1)[0]
        status, body, headers = 404, "not found", {"Content-Type": "text/plain; charset=utf-8"}
        if path == "/jsl":  # the column's address without its slash: a redirect first
            status, body, headers = 302, "", {"Location": "/jsl/"}
        elif column == "jsl":
            status, body, headers = self._jsl(path, cookies)
        elif column == "inline":
            status, body, headers = self._inline(path)
        elif column == "twice":
            status, body, headers = self._twice(path, cookies)
        elif column == "hostile":
            status, body, headers = self._hostile(path)
        elif column == "plain":
            status, body, headers = self._plain(path)
        elif column == "spin":
            status, body, headers = 200, "<html><body><script>while (true) {}</script>", _html()
        data = body.encode("utf-8")
        if status == 200 and path.endswith("/"):  # list pages carry an ETag of their markup
            etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status, data = 304, b""
        self.owner.hits.append(Hit(path, cookies, self.headers.get("User-Agent", ""), status))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- /jsl/: 521 + cookie computed from a server cookie; list from XHR -------------------

    def _jsl(self, path: str, cookies: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        jsluid = cookies.get("__jsluid", "")
        solved = cookies.get("__jsl_clearance") == clearance_for(jsluid)
        if not jsluid or not solved or self.owner.forever:
            return self._jsl_challenge(jsluid)
        if path == "/jsl/data.json":
            items = [
                {"title": article_title("jsl", n), "href": f"/jsl/art/{n}.html",
                 "date": article_day(n).isoformat()}
                for n in range(self.owner.articles, 0, -1)
            ]  # fmt: skip
            return 200, json.dumps(items, ensure_ascii=False), _json()
        if path in ("/jsl/", "/jsl/index.html"):
            return 200, _scripted_list("fetch('/jsl/data.json').then(r => r.json())"), _html()
        return self._article("jsl", path)

    def _jsl_challenge(self, jsluid: str) -> tuple[int, str, dict[str, str]]:
        headers = _html()
        if not jsluid:
            jsluid = hashlib.sha1(str(id(self)).encode()).hexdigest()[:16]
            headers["Set-Cookie"] = f"__jsluid={jsluid}; Path=/"
        script = """
<script>
var m = document.cookie.match(/__jsluid=([^;]+)/);
var id = m ? m[1] : "";
var sum = 0;
for (var i = 0; i < id.length; i++) { sum += id.charCodeAt(i); }
var value = id.split("").reverse().join("") + "-" + (sum * 7);
document.cookie = "__jsl_clearance=" + value + "; path=/";
setTimeout(function () { location.reload(); }, 150);
</script>"""
        return 521, f"<html><head></head><body>{script}</body></html>", headers

    # --- /inline/: list built from base64 JSON ----------------------------------------------

    def _inline(self, path: str) -> tuple[int, str, dict[str, str]]:
        if path in ("/inline/", "/inline/index.html"):
            items = [
                {"title": article_title("inline", n), "href": f"/inline/art/{n}.html",
                 "date": article_day(n).isoformat()}
                for n in range(self.owner.articles, 0, -1)
            ]  # fmt: skip
            packed = base64.b64encode(json.dumps(items).encode()).decode()
            source = f"Promise.resolve(JSON.parse(atob('{packed}')))"
            return 200, _scripted_list(source), _html()
        return self._article("inline", path)

    # --- /twice/: 412 with two script steps -----------------------------------------------

    def _twice(self, path: str, cookies: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        step1, step2 = cookies.get("step1", ""), cookies.get("step2", "")
        if not step1.isdigit():
            script = 'document.cookie = "step1=" + (6 * 7) + "; path=/"; location.reload();'
            return 412, f"<html><body><script>{script}</script></body></html>", _html()
        if step2 != step2_for(step1):
            script = (
                "var s = document.cookie.match(/step1=(\\d+)/)[1];"
                'document.cookie = "step2=" + (parseInt(s, 10) * 3 + 11) + "; path=/";'
                "setTimeout(function () { location.reload(); }, 50);"
            )
            return 412, f"<html><body><script>{script}</script></body></html>", _html()
        if path in ("/twice/", "/twice/index.html"):
            return 200, _plain_list("twice", self.owner.articles), _html()
        return self._article("twice", path)

    # --- /hostile/: a list whose script reaches elsewhere ------------------------------------

    def _hostile(self, path: str) -> tuple[int, str, dict[str, str]]:
        if path == "/hostile/bounce" and self.owner.targets:  # a redirect to a target
            return 302, "", {"Location": f"{self.owner.targets[0]}/bounced"}
        if path == "/hostile/worker.js":  # workers' requests: not seen by the page's routing
            lines = [f"fetch('{t}/from-worker').catch(function(){{}});"
                     f"try {{ new WebSocket('ws{t.removeprefix('http')}/worker-socket'); }} "
                     "catch (e) {}" for t in self.owner.targets]  # fmt: skip
            return 200, "".join(lines), {"Content-Type": "text/javascript"}
        if path not in ("/hostile/", "/hostile/index.html"):
            return self._article("hostile", path)
        tries = []
        for target in self.owner.targets:
            ws = "ws" + target.removeprefix("http")
            tries.append(
                f'<script src="{target}/evil.js"></script>'
                f'<iframe src="{target}/frame"></iframe><img src="{target}/pixel.gif">'
                f"<script>fetch('{target}/secret').catch(function(){{}});"
                f"try {{ new WebSocket('{ws}/socket'); }} catch (e) {{}}</script>"
            )
        tries.append("<script>fetch('/hostile/bounce').catch(function(){});</script>")
        tries.append(
            "<script>try { new Worker('/hostile/worker.js');"
            " new SharedWorker('/hostile/worker.js'); } catch (e) {}</script>"
        )
        for target in self.owner.writable:
            tries.append(
                f"<script>fetch('{target}/read').catch(function(){{}});"
                f"fetch('{target}/admin', {{method: 'DELETE'}}).catch(function(){{}});"
                f"fetch('{target}/form', {{method: 'POST', body: 'x=1'}}).catch(function(){{}});"
                "</script>"
            )
        return 200, _plain_list("hostile", self.owner.articles, "".join(tries)), _html()

    def _plain(self, path: str) -> tuple[int, str, dict[str, str]]:
        if path in ("/plain/", "/plain/index.html"):
            return 200, _plain_list("plain", self.owner.articles), _html()
        return self._article("plain", path)

    # --- articles ---------------------------------------------------------------------------

    def _article(self, column: str, path: str) -> tuple[int, str, dict[str, str]]:
        name = path.rsplit("/", 1)[-1].removesuffix(".html")
        if not path.startswith(f"/{column}/art/") or not name.isdigit():
            return 404, "not found", {"Content-Type": "text/plain"}
        number = int(name)
        if not 1 <= number <= self.owner.articles:
            return 404, "not found", {"Content-Type": "text/plain"}
        title = article_title(column, number)
        day = article_day(number)
        paragraphs = "".join(
            f"<p>{title}。第{i}段：各地科协结合实际，组织专家深入社区和乡村开展科普讲座，"
            f"惠及群众{number * 100 + i}人次。</p>"
            for i in range(1, 5)
        )
        body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<meta name="PubDate" content="{day.isoformat()} 09:30"></head><body>
<div class="header"><a href="/">首页</a></div>
<div class="article"><h1>{title}</h1>
<div class="info">发布时间：{day.isoformat()} 09:30 来源：科协</div>
<div id="zoom">{paragraphs}</div></div>
<div class="footer">版权所有</div></body></html>"""
        return 200, body, _html()


def _scripted_list(source: str) -> str:
    """A column page whose list ``source`` (a promise of items) fills by script."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>工作动态</title></head>
<body><div class="header"><a href="/">首页</a></div><h2>工作动态</h2>
<ul class="list" id="list"></ul>
<script>
{source}.then(function (items) {{
  var list = document.getElementById("list");
  items.forEach(function (item) {{
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = item.href; a.textContent = item.title;
    var span = document.createElement("span");
    span.textContent = item.date;
    li.appendChild(a); li.appendChild(span); list.appendChild(li);
  }});
}});
</script></body></html>"""


def _plain_list(column: str, articles: int, extra: str = "") -> str:
    rows = "".join(
        f'<li><a href="/{column}/art/{n}.html">{article_title(column, n)}</a>'
        f"<span>{article_day(n).isoformat()}</span></li>"
        for n in range(articles, 0, -1)
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>工作动态</title></head>
<body><h2>工作动态</h2><ul class="list">{rows}</ul>{extra}</body></html>"""


def _html() -> dict[str, str]:
    return {"Content-Type": "text/html; charset=utf-8"}


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8"}
