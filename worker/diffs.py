"""What changed between two versions of an article, in sentences a reader can follow.

``compare`` splits both texts into sentences (after 。！？!?; and line breaks), matches them with
difflib, and names the changed sentences; whitespace never counts as a change. ``note`` is the
short "更正" line a chat message shows; ``unified`` the diff a webhook carries. Pure: no I/O, no
knowledge of subscribers or channels.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["ArticleChange", "UpdateLevel", "compare", "sentences"]

UpdateLevel = Literal["none", "title", "any"]
SENTENCE_RE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』）)\"']*|\n|$)")
NOTE_CHARS = 120


@dataclass(frozen=True)
class ArticleChange:
    """Two versions compared. ``removed``/``added`` are the sentences only one version has (a
    rewritten sentence appears in both lists), in reading order."""

    old_title: str
    new_title: str
    removed: tuple[str, ...]
    added: tuple[str, ...]
    unified: str

    @property
    def title_changed(self) -> bool:
        return fold(self.old_title) != fold(self.new_title)

    @property
    def text_changed(self) -> bool:
        return bool(self.removed or self.added)

    def matters_to(self, level: str) -> bool:
        """Whether a subscriber whose ``updates`` is ``level`` (``UpdateLevel``) hears of it."""
        if level == "title":
            return self.title_changed
        return level == "any" and (self.title_changed or self.text_changed)

    @property
    def note(self) -> str:
        """One line for a chat message: the former title, else the first changed sentence."""
        if self.title_changed:
            return shorten(f"更正：标题原为「{self.old_title}」")
        if self.added:
            return shorten(f"更正：{self.added[0]}")
        if self.removed:
            return shorten(f"更正：删去「{self.removed[0]}」")
        return ""


def compare(
    old_title: str, old_text: str, new_title: str, new_text: str, *, versions: tuple[int, int]
) -> ArticleChange:
    """Compare two versions (``versions``: their numbers, for the unified diff's header)."""
    old, new = sentences(old_text), sentences(new_text)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    removed: list[str] = []
    added: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += old[i1:i2]
            added += new[j1:j2]
    old_lines = [f"# {fold(old_title)}", *old]
    new_lines = [f"# {fold(new_title)}", *new]
    unified = "\n".join(
        difflib.unified_diff(
            old_lines, new_lines, f"v{versions[0]}", f"v{versions[1]}", lineterm="", n=1
        )
    )
    return ArticleChange(old_title, new_title, tuple(removed), tuple(added), unified)


def sentences(text: str) -> list[str]:
    """The text's sentences, whitespace folded, empty ones dropped."""
    found = (fold(match.group(0)) for match in SENTENCE_RE.finditer(text))
    return [sentence for sentence in found if sentence]


def fold(text: str) -> str:
    return " ".join(text.split())


def shorten(text: str) -> str:
    return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1].rstrip() + "…"
