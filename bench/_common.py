"""Helpers every benchmark script shares: the machine, the code under test, /proc readings.

Standard library only at import, so a baseline client process can import it without loading
herald. It must not start, stop or measure anything itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def machine_info() -> dict[str, Any]:
    """CPU count and model, Python and platform, for the results' header."""
    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_git(*args: str) -> str:
    """Output of a read-only git command in the repository ("" if git fails)."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def hash_worker(root: Path) -> str:
    """SHA-256 over the worker/ Python files under ``root`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted((root / "worker").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def to_json(value: Any) -> Any:
    """NaN → null, recursively (JSON has no NaN); tuples become lists."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def write_report(path: Path, benchmark: str, params: Any, **results: Any) -> None:
    """The JSON file of one benchmark run: its name, date, machine, commit and parameters (an
    ``argparse.Namespace``, written as text) beside its ``results``."""
    report = {
        "benchmark": benchmark, "date": datetime.now(UTC).isoformat(), "machine": machine_info(),
        "commit": run_git("rev-parse", "HEAD"),
        "params": {k: str(v) for k, v in vars(params).items()}, **results,
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=1, ensure_ascii=False) + "\n")


def read_peak_rss_kb(pid: int) -> int:
    """VmHWM of a live process in kB (0 if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def read_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tail(path: Path, chars: int = 2500) -> str:
    """The end of a log file ("" if it cannot be read)."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@contextmanager
def bench_database(admin: str, sqlite_path: Path) -> Iterator[str]:
    """The database URL of one benchmark run: a fresh PostgreSQL database created on ``admin``
    and dropped afterwards when ``admin`` is given, else SQLite at ``sqlite_path``."""
    if not admin:
        yield f"sqlite:///{sqlite_path}"
        return
    import psycopg  # here, not at import: baseline clients load this module without it

    name = f"herald_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
