"""Pure URL handling: resolving links, and downloads (attachments) versus pages. No I/O, and no
exception for any URL a page may hold."""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import SplitResult, quote, unquote, urldefrag, urljoin, urlsplit

DOCUMENT_EXTENSIONS = frozenset(
    (
        *("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "ofd"),
        *("zip", "rar", "7z", "gz", "tar", "txt", "csv", "rtf"),
    )
)
DOWNLOAD_EXTENSIONS = DOCUMENT_EXTENSIONS | frozenset(
    (
        *("jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "svg"),
        *("mp3", "mp4", "avi", "flv", "wmv", "mov", "swf", "apk", "exe"),
    )
)
DOWNLOAD_PATH_RE = re.compile(
    r"/module/download/|downfile\.jsp|/download(?:file)?\.(?:jsp|do|aspx?|php)",
    re.IGNORECASE,
)
FILENAME_QUERY_RE = re.compile(
    r"(?:^|&)(?:filename|file|fileName)=[^&]*\.([a-z0-9]{2,4})(?:&|$)", re.IGNORECASE
)
EXTRA_TYPES = {
    "wps": "application/vnd.ms-works",
    "et": "application/vnd.ms-excel",
    "dps": "application/vnd.ms-powerpoint",
    "ofd": "application/ofd",
    "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar",
}


SCRIPT_EXTENSIONS = frozenset(("jsp", "do", "asp", "aspx", "php", "action", "cgi"))


def split(url: str) -> SplitResult:
    """``urlsplit``, with an empty result for a URL that cannot be parsed (``http://[x``)."""
    try:
        return urlsplit(url)
    except ValueError:
        return SplitResult("", "", "", "", "")


def make_absolute(href: str, base: str, *, keep_fragment: bool = True) -> str:
    """Resolve ``href`` against ``base``; return ``""`` unless the result is an http(s) URL.

    Empty hrefs, pure fragments (``#top``), ``javascript:``/``mailto:`` links, URLs that
    cannot be parsed (``http://[x``) and URLs holding control characters give ``""``.
    """
    href = href.strip()
    if not href or href.startswith("#"):
        return ""
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in absolute):
        return ""  # a control character left in a URL (urllib drops tabs and newlines)
    return absolute if keep_fragment else urldefrag(absolute).url


def file_extension(url: str) -> str:
    """The lower-case extension of the file: a ``filename=`` parameter's for a download script
    (``downfile.jsp?filename=x.pdf`` → ``pdf``), else the path's."""
    parts = split(url)
    last = unquote(parts.path).rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    if not extension or extension in SCRIPT_EXTENSIONS:
        named = FILENAME_QUERY_RE.search(unquote(parts.query))
        if named:
            return named.group(1).lower()
    return extension


def is_download_url(url: str) -> bool:
    """Tell whether ``url`` names a file download (PDF, DOC, image…) rather than a page."""
    if file_extension(url) in DOWNLOAD_EXTENSIONS:
        return True
    return DOWNLOAD_PATH_RE.search(unquote(split(url).path)) is not None


def is_document_url(url: str) -> bool:
    """A download that is a document or archive (an attachment), not an image or video."""
    extension = file_extension(url)
    if extension in DOCUMENT_EXTENSIONS:
        return True
    no_file_type = not extension or extension in SCRIPT_EXTENSIONS
    return no_file_type and DOWNLOAD_PATH_RE.search(unquote(split(url).path)) is not None


def mime_type(url: str) -> str:
    extension = file_extension(url)
    if extension in EXTRA_TYPES:
        return EXTRA_TYPES[extension]
    guessed, _ = mimetypes.guess_type(f"file.{extension}") if extension else (None, None)
    return guessed or "application/octet-stream"


# RFC 3986: what a URI may hold unencoded in each part ("%" kept when it starts an escape)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f\u200b-\u200f\u2028-\u202f\ufeff]+")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_HOST = re.compile(r"^[A-Za-z0-9._-]+$|^\[[0-9A-Fa-f:.]+\]$")


def as_uri(url: str) -> str:
    """An http(s) URL written as a URI (RFC 3986) that feed readers and validators accept:
    other characters percent-encoded (UTF-8), a non-ASCII host in IDNA form, whitespace at the
    ends dropped. ``""`` when ``url`` is no usable absolute http(s) URL."""
    parts = split(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    try:
        port = parts.port
        host = parts.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return ""
    if not _HOST.match(host) and not _HOST.match(f"[{host}]"):
        return ""
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None else f"{host}:{port}"
    if parts.username is not None:
        return ""  # credentials in a link are never passed on
    try:
        path = _encode(parts.path, _PATH_SAFE) or "/"
        query = f"?{_encode(parts.query, _QUERY_SAFE)}" if parts.query else ""
        fragment = f"#{_encode(parts.fragment, _QUERY_SAFE)}" if parts.fragment else ""
    except UnicodeEncodeError:  # a lone surrogate: no URL at all
        return ""
    return f"{parts.scheme.lower()}://{authority}{path}{query}{fragment}"


def _encode(text: str, safe: str) -> str:
    return quote(_BAD_ESCAPE.sub("%25", text), safe=safe + "%", errors="strict")


def as_uri_reference(value: str) -> str:
    """A link's target as a URI reference: an http(s) URL as ``as_uri`` writes it, a relative or
    ``mailto:`` reference with the characters a URI cannot hold percent-encoded; ``""`` when
    there is nothing usable."""
    text = value.strip(" \t\n\r\f")
    compact = _INVISIBLE.sub("", value).lower()  # as a browser reads the scheme
    scheme = _SCHEME.match(compact)
    if scheme and scheme.group(1) not in ("http", "https", "mailto"):
        return ""  # javascript:, data:, vbscript: …, however they are padded
    if compact.startswith(("http:", "https:")):
        return as_uri(text)
    try:
        return _encode(text, _QUERY_SAFE + "#")
    except UnicodeEncodeError:
        return ""
