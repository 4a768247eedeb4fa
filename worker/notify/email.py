"""E-mail: a ``Message`` or a digest as a multipart/alternative mail, and SMTP reply classification.

The request is ``Outgoing(url="mailto:to,…", body=the RFC 5322 message, headers={"Mail-From":
envelope sender, "Rcpt-To": recipients})``; the transport hands it to the ``[smtp]`` relay. A
digest (``digest.ready``) is the digest's own text and HTML renderings, the ones its webhook and
page carry; instant messages (articles folded like a chat's), alerts and tests are rendered from
``email.txt.j2`` and ``email.html.j2``. Every mail has ``List-Unsubscribe`` (a mail to the sender
asking to be taken off), ``List-Id``, ``Auto-Submitted`` and a ``Message-ID`` made from the event
id, so a retried delivery is the same mail. Header values come from configuration (addresses) or
are flattened to one line (subjects): nothing an article holds can add a header.

Replies are SMTP codes: 2xx delivered, 4xx retried, 5xx permanent — except a refused login
(530, 534, 535, 538), retried so the mails wait while the password is fixed; no reply is judged
like any channel's (``no_reply``). This module must not send, sleep, retry, schedule or store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import quote

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target, chat
from worker.notify.chat import flatten, safe_url
from worker.notify.message import Message
from worker.notify.render import render_template
from worker.notify.replies import EXCERPT_CHARS, no_reply

CHANNEL = "email"
TEXT_TEMPLATE = "email.txt.j2"
HTML_TEMPLATE = "email.html.j2"
MAX_BYTES = 5 * 1024 * 1024  # far below any relay's limit: a digest of hundreds of articles fits
SUBJECT_CHARS = 200
DIGEST_EVENT = "digest.ready"
AUTH_CODES = (530, 534, 535, 538)  # the relay refused herald's login: a setting, not the mail


def envelope_address(text: str) -> str:
    """The bare address of ``Name <a@b>``."""
    return parseaddr(text)[1]


def subject_of(title: str) -> str:
    subject = flatten(title) or "herald"
    return subject if len(subject) <= SUBJECT_CHARS else subject[: SUBJECT_CHARS - 1] + "…"


def render_message(message: Message, target: Target) -> tuple[str, str]:
    """The plain text and HTML of ``message`` (the subscriber's ``template`` replaces the text)."""
    functions = {"one": flatten, "href": safe_url}
    text = render_template(
        TEXT_TEMPLATE, message, escapers=functions, override=target.options.template
    )
    html = render_template(HTML_TEMPLATE, message, escapers={"href": safe_url})
    return text + "\n", html + "\n"


def compose_mail(
    target: Target,
    *,
    subject: str,
    text: str,
    html: str,
    event_type: str,
    event_id: str,
    now: datetime,
) -> EmailMessage:
    """The mail itself: headers from configuration, a text part and an HTML alternative."""
    options = target.options
    sender = envelope_address(options.mail_from)
    domain = sender.rpartition("@")[2] or "herald.invalid"
    mail = EmailMessage(policy=SMTP)
    mail["From"] = options.mail_from
    mail["To"] = ", ".join(options.mail_to)
    mail["Subject"] = subject_of(subject)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{event_id}@{domain}>"
    mail["List-Id"] = f"herald {target.name} <{target.name}.herald.{domain}>"
    unsubscribe = quote(f"unsubscribe {target.name}")
    mail["List-Unsubscribe"] = f"<mailto:{sender}?subject={unsubscribe}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Herald-Event"] = event_type
    mail.set_content(text, subtype="plain", charset="utf-8")
    mail.add_alternative(html, subtype="html", charset="utf-8")
    return mail


class EmailNotifier:
    """The ``email`` channel: mails through the ``[smtp]`` relay."""

    channel: str = CHANNEL
    unit: str = "bytes"
    takes_messages: bool = True  # new articles are folded into one mail, as a chat's are
    digest_documents: bool = True  # a digest is its own text and HTML, not a folded message
    rate_windows: RateWindows = ()
    templates: Mapping[str, str] = {"": TEXT_TEMPLATE, "html": HTML_TEMPLATE}  # both in each mail

    def mail_for(
        self, target: Target, event_type: str, event_id: str, data: Mapping[str, Any], now: datetime
    ) -> EmailMessage:
        if event_type == DIGEST_EVENT:
            subject, text, html = str(data.get("title", "")), data["text"], data["html"]
        else:
            message = chat.event_message(target, event_type, data)
            subject = message.title
            text, html = render_message(message, target)
        return compose_mail(
            target, subject=subject, text=str(text), html=str(html), event_type=event_type,
            event_id=event_id, now=now,
        )  # fmt: skip

    def measure(self, body: Mapping[str, Any]) -> int:
        """Bytes of a built mail (``{"raw": text}``: ``digest`` measures every request so)."""
        return len(str(body.get("raw", "")).encode("utf-8"))

    def limit_for(self, body: Mapping[str, Any]) -> int:
        return MAX_BYTES

    def fits(self, message: Message, target: Target) -> bool:
        text, html = render_message(message, target)
        return len(text.encode("utf-8")) + len(html.encode("utf-8")) <= MAX_BYTES // 2

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """The mail for one event (pure); ValueError when the subscriber has no addresses."""
        if not target.options.mail_to or not target.options.mail_from:
            raise ValueError("email: the subscriber needs to and from")
        mail = self.mail_for(target, event_type, event_id, data, now)
        body = mail.as_bytes()
        if len(body) > MAX_BYTES:
            raise ValueError(f"email: the mail is {len(body)} bytes, limit {MAX_BYTES}")
        headers = {
            "Mail-From": envelope_address(target.options.mail_from),
            "Rcpt-To": ",".join(envelope_address(a) for a in target.options.mail_to),
        }
        return Outgoing(url=target.url, body=body, headers=headers)

    def classify(self, reply: Reply) -> Outcome:
        """2xx delivered, 4xx retried, 5xx permanent; no reply as any channel's."""
        if reply.status is None:
            return no_reply(CHANNEL, reply)
        code, excerpt = reply.status, reply.text[:EXCERPT_CHARS]
        if 200 <= code < 300:
            return Outcome("delivered", code, None, reply.latency_ms, excerpt, "")
        error = f"email: SMTP {code} {flatten(reply.text)[:200]}".rstrip()
        if 400 <= code < 500 or code in AUTH_CODES:  # "try again later", or a login to fix:
            return Outcome("retry", code, None, reply.latency_ms, excerpt, error)  # mail kept
        return Outcome("failed", code, None, reply.latency_ms, excerpt, error)
