"""The settings' shapes: one frozen dataclass per section, and the error every mistake raises.

This module only describes settings; reading and checking them is ``worker.config.load``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from worker.backoff import DELIVERY_SCHEDULE
from worker.models import ArticleSelectors, ListSelectors
from worker.subscriber import SubscriberOptions

DIRECT = "direct"  # a source's proxy value: no proxy for it, whatever [network] proxy says

SOURCE_KINDS = ("feed", "html", "hanweb", "jpaas", "trs", "auto")
CHANNELS = ("webhook", "wecom", "dingtalk", "feishu", "slack", "discord", "telegram", "email")
SMTP_PASSWORD_ENV = "HERALD_SMTP_PASSWORD"
MODES = ("instant", "digest", "both")
RENDER_MODES = ("auto", "always", "never")


DEFAULT_MAX_ITEMS = 500  # items one poll of a source reads at most


class ConfigError(ValueError):
    """A configuration mistake; ``str()`` is the one line to show the user. ``key`` is the key
    path it concerns (``subscribers[2].url``) and ``problem`` what is wrong, when known."""

    def __init__(self, message: str, *, key: str = "", problem: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.problem = problem or message


@dataclass(frozen=True)
class HeraldSettings:
    database_url: str = "sqlite:///data/herald.db"
    broker_url: str = ""
    feeds_dir: Path = Path("feeds")
    base_url: str = "http://localhost:8080"
    timezone: str = "Asia/Shanghai"
    sweep_interval: float = 15.0
    workers: int = 4
    max_items: int = DEFAULT_MAX_ITEMS  # per poll of a source (its own max_items wins)
    max_html_bytes: int = 1024 * 1024  # a stored article's HTML, cut cleanly beyond this
    max_title_chars: int = 1000  # a stored article's title, cut beyond this

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: ``herald run`` does all work in one process."""
        return not self.broker_url


@dataclass(frozen=True)
class NetworkSettings:
    allow: tuple[str, ...] = ()
    user_agent: str = "herald/0.1 (+https://github.com/herald-bot/herald)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 30.0
    per_host: int = 4
    proxy: str = ""  # every fetch goes through it ("": none; never taken from the environment)


@dataclass(frozen=True)
class DeliverySettings:
    """How the ledger sends: retry schedule, timeouts, concurrency, the circuit breaker."""

    retry_schedule: tuple[float, ...] = DELIVERY_SCHEDULE
    timeout: float = 15.0
    per_endpoint: int = 2
    in_flight: int = 64
    batch: int = 500
    breaker_after: float = 86400.0
    lease: float = 30.0
    requeue_after: float = 60.0


@dataclass(frozen=True)
class WebSettings:
    """``herald serve``: where it listens, whether ``herald run`` starts it, the API's token."""

    host: str = "127.0.0.1"
    port: int = 8080
    enabled: bool = True
    api_token: str = ""  # "" = the JSON API answers 404


@dataclass(frozen=True)
class RetentionSettings:
    """How long the store keeps what it no longer needs (seconds; 0 = forever)."""

    delivered: float = 30 * 86400.0  # delivered deliveries, with their attempts
    failed: float = 90 * 86400.0  # failed deliveries, with their attempts
    article_versions: int = 10  # previous versions kept per article
    digests: float = 365 * 86400.0  # built digests (their archive pages stay on disk)


@dataclass(frozen=True)
class FeedSettings:
    """The published feeds: how many entries each holds, and the WebSub hub they name."""

    limit: int = 200
    websub_hub: str = ""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    url: str
    kind: str
    interval: float = 900.0
    tags: tuple[str, ...] = ()
    timezone: str = ""
    enabled: bool = True
    backfill: int = 1
    pages: int = 1
    notify_existing: bool = False
    recheck: float = 86400.0
    max_items: int = DEFAULT_MAX_ITEMS  # the config file's default: [herald] max_items
    proxy: str = ""  # "": [network] proxy; "direct": none; else this source's own proxy
    expect_new_within: float = 0.0  # seconds; stale when nothing new came in for longer (0: off)
    render: str = "auto"  # auto: headless Chromium when challenged or a scripted list is empty
    list: ListSelectors | None = None
    article: ArticleSelectors | None = None


@dataclass(frozen=True, slots=True)
class SubscriberConfig:
    name: str
    channel: str
    url: str
    secret: str = ""
    mode: str = "instant"
    sources: tuple[str, ...] = ()
    enabled: bool = True
    ops_alerts: bool = False
    options: SubscriberOptions = field(default_factory=SubscriberOptions)  # the rest, typed
    from_env: tuple[tuple[str, str], ...] = ()  # (key, variable) of values read from env:NAME

    @property
    def wants_digest(self) -> bool:
        return self.mode in ("digest", "both")

    def env_name(self, key: str) -> str:
        """The environment variable ``key`` was read from ("" when it is written in the file)."""
        return dict(self.from_env).get(key, "")


@dataclass(frozen=True)
class SmtpSettings:
    """The relay e-mail subscribers are sent through (``[smtp]``); the password comes from the
    environment (``HERALD_SMTP_PASSWORD``), never from the file."""

    host: str = ""
    port: int = 0  # 0: 465 with implicit TLS, else 587
    starttls: str = "auto"  # "auto": when the server offers it; "always": refuse one that doesn't
    tls: bool = False  # implicit TLS from the first byte (port 465)
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    ca_file: str = ""  # a CA bundle for a relay whose certificate a private CA signed

    @property
    def relay_port(self) -> int:
        """``port``, else 465 with implicit TLS and 587 without."""
        return self.port or (465 if self.tls else 587)

    @property
    def relay_url(self) -> str:
        """``smtp://host:port`` or ``smtps://host:port`` ("" when no host is configured)."""
        if not self.host:
            return ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'smtps' if self.tls else 'smtp'}://{host}:{self.relay_port}"


@dataclass(frozen=True)
class BrowserSettings:
    """Headless Chromium for sources that need a page's own script to run (``[browser]``)."""

    executable: str = ""  # "": the first of chromium, chromium-browser, google-chrome on PATH
    enabled: bool | None = None  # None: when an executable is found
    max_concurrent: int = 1  # pages rendered at once per worker process
    timeout: float = 30.0  # per page, script and reloads included; then the browser is killed
    keep_open: float = 300.0  # an idle browser is closed after this long
    max_requests: int = 100  # requests one page may make (documents, scripts, XHR)
    max_bytes: int = 20 * 1024 * 1024  # bytes one page may read, all requests together
    sandbox: bool = True  # Chromium's sandbox (always off when running as root)


@dataclass(frozen=True)
class Config:
    herald: HeraldSettings = field(default_factory=HeraldSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    web: WebSettings = field(default_factory=WebSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)
    sources: tuple[SourceConfig, ...] = ()
    subscribers: tuple[SubscriberConfig, ...] = ()
    path: Path | None = None
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    browser: BrowserSettings = field(default_factory=BrowserSettings)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def source_timezone(self, source: SourceConfig) -> ZoneInfo:
        return ZoneInfo(source.timezone or self.herald.timezone)

    def source_proxy(self, source: SourceConfig) -> str:
        """The proxy the source's fetches go through ("" for none)."""
        if source.proxy == DIRECT:
            return ""
        return source.proxy or self.network.proxy
