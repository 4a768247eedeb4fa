"""``herald doctor`` on real databases, a real Redis and a real skewed clock (libfaketime): it
finds a broken config, a missing migration, an unreachable broker, a read-only database, a
blocked subscriber URL and a skewed clock, says so in one line each, exits 1 — and changes
nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import REQUIRE, site_source, write_config
from worker.cli import main
from worker.demo.site import DemoSite
from worker.store.db import make_engine
from worker.store.migrate import current_revision, head_revision, upgrade

PREVIOUS_REVISION = "0008"
HEAD = head_revision()


def doctor(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), "doctor", *args])


def lines_of(result: Result) -> dict[str, str]:
    """``{check name: "ok|warn|FAIL detail"}`` from doctor's output."""
    found = {}
    for line in result.output.splitlines():
        mark, _, rest = line.partition(" ")
        name, _, detail = rest.strip().partition(": ")
        found[name] = f"{mark} {detail}"
    return found


def migrated_sqlite(directory: Path, revision: str = "head") -> str:
    url = f"sqlite:///{directory / 'herald.db'}"
    engine = make_engine(url)
    upgrade(engine, revision)
    engine.dispose()
    return url


def test_a_ready_installation_passes_and_nothing_is_changed(tmp_path: Path) -> None:
    url = migrated_sqlite(tmp_path)
    config = write_config(tmp_path, sources="", database_url=url)
    before = (tmp_path / "herald.db").stat().st_mtime_ns
    result = doctor(config)
    assert result.exit_code == 0, result.output
    checks = lines_of(result)
    for name in ("config", "database", "migrations", "writable", "clock", "broker", "feeds"):
        assert checks[name].startswith("ok "), (name, result.output)
    assert checks["templates"] == "ok 20 templates render with sample data"
    assert (tmp_path / "herald.db").stat().st_mtime_ns == before
    assert not (tmp_path / "feeds").exists()  # "will be created", not created


def test_a_broken_config_is_named_by_file_and_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, sources='[[sources]]\nname = "a"\nurl = "https://a.org/"\n'
                          'kind = "html"\ninterval = "fortnightly"\n')  # fmt: skip
    result = doctor(config)
    assert result.exit_code == 1
    assert result.output.startswith("FAIL config: ")
    assert "herald.toml" in result.output and "interval" in result.output
    assert len(result.output.splitlines()) == 1  # nothing else can be checked without it


def test_a_missing_database_or_migration_fails_and_is_not_applied(tmp_path: Path) -> None:
    config = write_config(tmp_path, sources="", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    missing = doctor(config)
    assert missing.exit_code == 1
    assert lines_of(missing)["database"].startswith("FAIL ")
    assert not (tmp_path / "x.db").exists()

    old = migrated_sqlite(tmp_path, PREVIOUS_REVISION)
    config = write_config(tmp_path, sources="", database_url=old)
    result = doctor(config)
    assert result.exit_code == 1
    assert lines_of(result)["migrations"] == (
        f"FAIL database at revision {PREVIOUS_REVISION}, herald needs {HEAD}: "
        "run `herald db upgrade`"
    )
    engine = make_engine(old)
    assert current_revision(engine) == PREVIOUS_REVISION  # doctor applied nothing
    engine.dispose()


def test_an_unreachable_broker_fails_without_showing_its_password(
    tmp_path: Path, redis_url: str
) -> None:
    url = migrated_sqlite(tmp_path)
    up = write_config(tmp_path, sources="", database_url=url, broker_url=redis_url)
    assert lines_of(doctor(up))["broker"].startswith("ok ")
    down = write_config(tmp_path, sources="", database_url=url,
                        broker_url=f"redis://:hunter2@127.0.0.1:{closed_port()}/0")  # fmt: skip
    result = doctor(down)
    assert result.exit_code == 1
    assert lines_of(result)["broker"].startswith("FAIL redis://:***@127.0.0.1:")
    assert "hunter2" not in result.output


def test_a_read_only_postgresql_database_is_not_writable(tmp_path: Path, postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    read_only = f"{postgres_url}?options=-c%20default_transaction_read_only%3Don"
    config = write_config(tmp_path, sources="", database_url=read_only)
    result = doctor(config)
    assert result.exit_code == 1, result.output
    checks = lines_of(result)
    assert checks["migrations"].startswith("ok ")
    assert checks["writable"].startswith("FAIL herald cannot write to postgresql://")
    assert "read-only" in checks["writable"]
    assert checks["clock"].startswith("ok within ")


def test_subscriber_urls_are_checked_against_the_ssrf_guard(tmp_path: Path) -> None:
    url = migrated_sqlite(tmp_path)
    subscribers = """
[[subscribers]]
name = "inside"
channel = "webhook"
url = "http://10.1.2.3:8080/hook"
secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="

[[subscribers]]
name = "local"
channel = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="

[[subscribers]]
name = "unedited"
channel = "slack"
url = "https://hooks.example.org/services/T1/B2/abc"
"""
    config = write_config(tmp_path, sources="", subscribers=subscribers, database_url=url)
    result = doctor(config)
    assert result.exit_code == 1
    checks = lines_of(result)
    assert checks["subscriber inside"].startswith("FAIL blocked: 10.1.2.3 is a private address")
    assert checks["subscriber local"].startswith("ok ")  # the test config allows loopback
    assert checks["subscriber unedited"] == (
        'FAIL hooks.example.org is the example\'s placeholder: edit subscribers["unedited"].url'
    )


def test_sources_are_fetched_only_when_asked(tmp_path: Path, site: DemoSite) -> None:
    url = migrated_sqlite(tmp_path)
    port = closed_port()
    sources = site_source(site, name="cases") + (
        f'\n[[sources]]\nname = "gone"\nurl = "http://127.0.0.1:{port}/"\nkind = "html"\n'
        '[sources.list]\nitem = "li"\n'
    )
    config = write_config(tmp_path, sources=sources, database_url=url)
    assert "source cases" not in lines_of(doctor(config))
    result = doctor(config, "--sources")
    checks = lines_of(result)
    assert checks["source cases"].startswith("ok HTTP 200")
    assert checks["source gone"].endswith(f"connection refused by 127.0.0.1:{port}")
    assert result.exit_code == 1


def test_a_skewed_clock_warns(tmp_path: Path, postgres_url: str) -> None:
    """This host's clock moved 30 s ahead by libfaketime; the database keeps the real time."""
    faketime = shutil.which("faketime")
    if faketime is None:
        if REQUIRE:
            pytest.fail("faketime is not installed (scripts/testtools installs it)")
        pytest.skip("faketime is not installed (scripts/testtools installs it)")
    engine = make_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    config = write_config(tmp_path, sources="", database_url=postgres_url)
    command = [faketime, "-f", "+30s", sys.executable, "-m", "worker.cli", "--config",
               str(config), "doctor"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    line = next(x for x in run.stdout.splitlines() if x.startswith("warn clock: "))
    seconds = float(line.split("this host is ", 1)[1].split(" s ahead", 1)[0])
    assert 25 <= seconds <= 40, line
    assert run.returncode == 0  # a warning, not a failure
    honest = doctor(config)
    assert lines_of(honest)["clock"].startswith("ok within ")


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
