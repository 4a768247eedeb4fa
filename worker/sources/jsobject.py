"""A tolerant reader of the JavaScript object literals found in CMS page scripts.

Hanweb's ``$('#id').jpage({proxyUrl: '…', perPage: 15, ajaxParam: {col: 1, …}})`` and JPaaS's
``querydata="{'webId':'…','paramJson':'{…}'}"`` are read without running any script: quoted
strings (single or double), numbers, ``true``/``false``/``null``, nested objects and arrays;
any other expression is kept as its source text. Every step moves forward and nesting is read
recursively only ``MAX_DEPTH`` deep (deeper values are kept as text), so any text — broken,
hostile or huge — is read in linear time. This module must not run, fetch or import anything
of a page.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_js_object"]

MAX_DEPTH = 32
KEY_RE = re.compile(r"[\w$]+")
HEX4_RE = re.compile(r"[0-9a-fA-F]{4}")
INT_RE = re.compile(r"-?\d+")
FLOAT_RE = re.compile(r"-?\d+\.\d+")
CLOSERS = "}])"


class JsReader:
    """Reads one object literal from ``text``, starting at ``pos``."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n\u3000":
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def read_value(self, depth: int) -> Any:
        char = self.peek()
        if char in "{[" and depth >= MAX_DEPTH:
            return self.read_bare()  # too deep to be page settings: kept as its text
        if char == "{":
            return self.read_object(depth + 1)
        if char == "[":
            return self.read_array(depth + 1)
        if char in "'\"" and char:
            return self.read_string()
        return self.read_bare()

    def read_object(self, depth: int = 1) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.pos += 1
        while True:
            char = self.peek()
            if char in ("}", ""):
                self.pos += 1
                return result
            if char == ",":
                self.pos += 1
                continue
            key = self.read_string() if char in "'\"" else self.read_key()
            if self.peek() != ":":
                self.skip_to_separator()
                continue
            self.pos += 1
            result[key] = self.read_value(depth)

    def read_array(self, depth: int) -> list[Any]:
        result: list[Any] = []
        self.pos += 1
        while True:
            char = self.peek()
            if char in ("]", ""):
                self.pos += 1
                return result
            if char == ",":
                self.pos += 1
                continue
            if char in CLOSERS:  # "[)" or "[}": the array ends at a closer it did not open
                return result
            result.append(self.read_value(depth))

    def read_key(self) -> str:
        match = KEY_RE.match(self.text, self.pos)
        if match is None:
            self.pos += 1
            return ""
        self.pos = match.end()
        return match.group(0)

    def read_string(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.read_escape())
                continue
            self.pos += 1
            if char == quote:
                break
            out.append(char)
        return "".join(out)

    def read_escape(self) -> str:
        char = self.text[self.pos + 1]
        self.pos += 2
        if char == "u" and HEX4_RE.fullmatch(self.text, self.pos, self.pos + 4):
            code = int(self.text[self.pos : self.pos + 4], 16)
            self.pos += 4
            return chr(code)
        return {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(char, char)

    def read_bare(self) -> Any:
        start = self.pos
        self.skip_to_separator()
        raw = self.text[start : self.pos].strip()
        if INT_RE.fullmatch(raw) and len(raw) < 19:
            return int(raw)
        if FLOAT_RE.fullmatch(raw) and len(raw) < 40:
            return float(raw)
        return {"true": True, "false": False, "null": None}.get(raw, raw)

    def skip_to_separator(self) -> None:
        """Move to the next ``,`` or closing bracket at this nesting depth."""
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "'\"":
                self.read_string()
                continue
            if char in "{[(":
                depth += 1
            elif char in CLOSERS:
                if depth == 0:
                    return
                depth -= 1
            elif char == "," and depth == 0:
                return
            self.pos += 1


def parse_js_object(text: str) -> dict[str, Any] | None:
    """Read the first JavaScript object literal in ``text``; None when there is none."""
    start = text.find("{")
    if start < 0:
        return None
    return JsReader(text, start).read_object()
