"""The mail half of the delivery seam: a built mail handed to the ``[smtp]`` relay (aiosmtplib).

``worker.notify.transport`` calls ``send_mail`` for a ``mailto:`` request on the same event loop,
lanes and budget as every POST. The relay is the operator's own, named in the config file like
the database and the broker (no page, feed or API call can change it), so it is reached
wherever it is — a local MTA on 127.0.0.1 included — without the SSRF guard's address check;
the recipients never choose where herald connects. TLS checks the relay's certificate against
its name. ``tls`` encrypts from the first byte; otherwise ``starttls`` says
whether to upgrade: ``auto`` when the relay offers it, ``always`` (a relay that does not is not
sent to), ``never``. The password is only ever given to the relay's AUTH. Whatever happens
becomes a ``Reply`` whose status is the SMTP code; nothing raises out of here.

This module only moves bytes: it must not classify replies, build mails, store or schedule.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass, field

import aiosmtplib

from worker.config.settings import SmtpSettings
from worker.notify import Outgoing, Reply

TEXT_CHARS = 2000
START_TLS = {"auto": None, "always": True, "never": False}


@dataclass(frozen=True)
class Relay:
    """Where and how mails are handed over (from ``[smtp]``)."""

    host: str
    port: int
    tls: bool = False
    starttls: str = "auto"
    user: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""

    @classmethod
    def from_settings(cls, smtp: SmtpSettings) -> Relay | None:
        if not smtp.host:
            return None
        return cls(smtp.host, smtp.relay_port, smtp.tls, smtp.starttls, smtp.user, smtp.password,
                   smtp.ca_file)  # fmt: skip


@functools.lru_cache(maxsize=4)
def tls_context(ca_file: str) -> ssl.SSLContext:
    """The relay's TLS context, built once per CA file (loading the CAs costs milliseconds, and
    a fan-out hands the relay one mail after another)."""
    return ssl.create_default_context(cafile=ca_file or None)


async def send_mail(request: Outgoing, relay: Relay | None, timeout: float) -> Reply:
    """Hand one mail to the relay; the reply's status is the SMTP code of the outcome."""
    started = time.monotonic()

    def elapsed() -> float:
        return (time.monotonic() - started) * 1000.0

    if relay is None:
        return Reply(None, "", elapsed(), problem="invalid", error="no [smtp] host configured")
    sender = request.headers.get("Mail-From", "")
    recipients = [r for r in request.headers.get("Rcpt-To", "").split(",") if r]
    try:
        async with asyncio.timeout(timeout):
            client = aiosmtplib.SMTP(
                hostname=relay.host, port=relay.port, use_tls=relay.tls,
                start_tls=False if relay.tls else START_TLS.get(relay.starttls),
                tls_context=tls_context(relay.ca_file), timeout=timeout,
                username=relay.user or None, password=relay.password or None,
            )  # fmt: skip
            async with client:
                refused, answer = await client.sendmail(sender, recipients, request.body)
        text = answer
        if refused:
            text += " (refused: " + ", ".join(f"{r} {c.code}" for r, c in refused.items()) + ")"
        return Reply(250, text[:TEXT_CHARS], elapsed())
    except aiosmtplib.SMTPRecipientsRefused as err:  # every recipient refused: the first says why
        first = err.recipients[0]
        return Reply(first.code, f"{first.recipient}: {first.message}"[:TEXT_CHARS], elapsed())
    except aiosmtplib.SMTPResponseException as err:
        return Reply(err.code, err.message[:TEXT_CHARS], elapsed())
    except TimeoutError:
        return Reply(None, "", elapsed(), problem="timeout", error=f"timeout after {timeout:g} s")
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as err:
        words = str(err) or type(err).__name__
        return Reply(None, "", elapsed(), problem="connection", error=f"relay: {words}")
    except Exception as err:  # anything else a hostile relay provokes: no reply
        return Reply(None, "", elapsed(), problem="error", error=type(err).__name__)
