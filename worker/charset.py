"""Decode a fetched body the way browsers do: BOM, declared labels, UTF-8, then detection.

GB labels (``gb2312``, ``gbk`` …) are read as gb18030, Latin-1 labels as windows-1252, and a
Latin-1 ``Content-Type`` label (what servers send by default) yields to declarations in the
document. Pure functions of the bytes and the header: it must not fetch anything or parse HTML
beyond sniffing the first ``SNIFF_BYTES`` for a ``<meta>`` charset or an XML declaration.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

SNIFF_BYTES = 4096

_GB18030_LABELS = (
    "gb2312",
    "gbk",
    "x-gbk",
    "gb_2312-80",
    "gb_2312",
    "gb-2312",
    "cp936",
    "ms936",
    "windows-936",
    "csgb2312",
    "chinese",
    "iso-ir-58",
    "csiso58gb231280",
    "gb18030",
    "euc-cn",
    "x-euc-cn",
)
_WINDOWS_1252_LABELS = (
    "iso-8859-1",
    "iso8859-1",
    "iso_8859-1",
    "iso88591",
    "latin1",
    "latin-1",
    "l1",
    "cp819",
    "ibm819",
    "iso-ir-100",
    "csisolatin1",
    "us-ascii",
    "ascii",
    "ansi_x3.4-1968",
    "windows-1252",
    "cp1252",
    "x-cp1252",
)
_LABEL_ALIASES: dict[str, str] = {
    **dict.fromkeys(_GB18030_LABELS, "gb18030"),
    **dict.fromkeys(_WINDOWS_1252_LABELS, "cp1252"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"), "big5hkscs"),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j"), "cp932"
    ),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949", "cp949"), "cp949"),
    **dict.fromkeys(("utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8"), "utf-8"),
    **dict.fromkeys(("utf-16", "utf-16le", "utf-16-le"), "utf-16-le"),
    **dict.fromkeys(("utf-16be", "utf-16-be"), "utf-16-be"),
}
# Header labels servers send by default whatever the page is; in-document declarations win.
_WEAK_HEADER_LABELS = frozenset(_WINDOWS_1252_LABELS)
_REFUSED_CODECS = frozenset(
    {"utf-7", "undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode"}
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^"';\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def resolve_codec(label: str) -> str | None:
    """Map a charset label to a Python text codec name the way browsers do; None if unknown."""
    key = label.strip().strip("\"'").strip().lower()
    if not key:
        return None
    if key in _LABEL_ALIASES:
        return _LABEL_ALIASES[key]
    try:
        info = codecs.lookup(key)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def decode_body(content: bytes, content_type_header: str) -> tuple[str, str]:
    """Decode a response body; return ``(text, codec)``.

    Order: BOM, Content-Type charset, then (with no header charset to trust) bytes that are
    valid UTF-8 beyond ASCII, ``<meta>`` charset in the first 4 KB, XML declaration, strict
    UTF-8, charset_normalizer, and finally gb18030 with replacement characters. A Latin-1/ASCII
    header label is weak (servers send it by default): valid UTF-8 and declarations in the
    document win over it. Unknown labels fall through to the next step.
    """
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(codec, errors="replace"), codec
    header_label = read_charset_param(content_type_header)
    header_codec = resolve_codec(header_label) if header_label else None
    weak_codec: str | None = None
    if header_codec and header_label.lower() in _WEAK_HEADER_LABELS:
        weak_codec, header_codec = header_codec, None
    if header_codec is None and not content.isascii():
        try:  # valid UTF-8 beyond ASCII is UTF-8, whatever a <meta> (often copied) says
            return content.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    for declared in (header_codec, sniff_meta_charset(content), sniff_xml_encoding(content)):
        decoded = decode_with(content, declared)
        if decoded is not None:
            return decoded
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = decode_with(content, weak_codec) or decode_with(content, guess_codec(content))
    if decoded is not None:
        return decoded
    return content.decode("gb18030", errors="replace"), "gb18030"


def read_charset_param(content_type_header: str) -> str:
    """The charset parameter of a Content-Type header, or ""."""
    match = _CHARSET_PARAM.search(content_type_header or "")
    return match.group(1) if match else ""


def sniff_meta_charset(content: bytes) -> str | None:
    """Codec named by a ``<meta>`` charset in the first 4 KB (UTF-16 labels mean UTF-8)."""
    match = _META_CHARSET.search(content[:SNIFF_BYTES])
    if not match:
        return None
    codec = resolve_codec(match.group(1).decode("ascii"))
    if codec in ("utf-16-le", "utf-16-be"):
        return "utf-8"
    return codec


def sniff_xml_encoding(content: bytes) -> str | None:
    """Codec named by an XML declaration at the start of the document."""
    match = _XML_ENCODING.match(content[:SNIFF_BYTES])
    return resolve_codec(match.group(1).decode("ascii")) if match else None


def guess_codec(content: bytes) -> str | None:
    """charset_normalizer's best guess, mapped through the browser aliases."""
    best = charset_normalizer.from_bytes(content).best()
    if best is None:
        return None
    return resolve_codec(best.encoding)


def decode_with(content: bytes, codec: str | None) -> tuple[str, str] | None:
    """Decode with ``codec`` replacing bad bytes; None when there is no usable codec."""
    if not codec:
        return None
    try:
        return content.decode(codec, errors="replace"), codec
    except (LookupError, UnicodeError):
        return None
