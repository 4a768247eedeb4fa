"""Find the Chromium executable herald may drive: the configured one, else the system's.

It must not download a browser or start one.
"""

from __future__ import annotations

import os
import shutil

from worker.config.settings import BrowserSettings

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def locate_chromium(configured: str = "") -> str:
    """The absolute path of ``configured`` (a path or a program on PATH), else of the first of
    ``CANDIDATES`` on PATH; "" when none is found."""
    if configured:
        if os.sep in configured:
            found = configured if os.access(configured, os.X_OK) else ""
            return os.path.abspath(found) if found and os.path.isfile(found) else ""
        return shutil.which(configured) or ""
    for name in CANDIDATES:
        on_path = shutil.which(name)
        if on_path:
            return on_path
    return ""


def browser_executable(settings: BrowserSettings) -> str:
    """The Chromium pages are rendered with: "" when ``[browser]`` is off or none is found."""
    return "" if settings.enabled is False else locate_chromium(settings.executable)


def describe_rendering(settings: BrowserSettings) -> tuple[bool, str]:
    """Whether pages can be rendered with these ``[browser]`` settings, in words for
    ``herald doctor`` and ``herald status``."""
    if settings.enabled is False:
        return False, "off ([browser] enabled = false)"
    found = browser_executable(settings)
    if not found:
        return False, ("not available: no Chromium found on PATH (install Debian's chromium, "
                       "or set [browser] executable)")  # fmt: skip
    return True, (f"available: headless Chromium at {found} ({settings.max_concurrent} page(s) "
                  f"at once, {settings.timeout:.0f} s per page)")  # fmt: skip
