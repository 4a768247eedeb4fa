"""What the Docker image installs: a wheel built from exactly the files the Dockerfile copies
holds every template and renders each of them, the build context holds nothing else, and the
image installs pinned, hash-checked dependencies as a non-root user."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from worker.config import load_config
from worker.configfile import write_example
from worker.template_check import check_templates

ROOT = Path(__file__).resolve().parents[1]
COPY_RE = re.compile(r"^COPY\s+(?P<sources>.+?)\s+\S+\s*$", re.MULTILINE)

RENDER_FROM_WHEEL = """
import json, sys, tempfile
from pathlib import Path
import worker
from worker.config import load_config
from worker.configfile import write_example
from worker.notify.render import templates_dir
from worker.template_check import check_templates
path = Path(tempfile.mkdtemp()) / "herald.toml"
write_example(path)
checks = check_templates(load_config(path))
print(json.dumps({
    "package": worker.__file__,
    "shipped": sorted(p.name for p in templates_dir().glob("*.j2")),
    "checks": [[c.what, list(c.templates), c.error] for c in checks],
}))
"""


def dockerfile_sources() -> list[str]:
    """The paths the Dockerfile copies into the image, in order."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    return [part for match in COPY_RE.finditer(text) for part in match["sources"].split()]


def test_the_build_context_holds_only_what_the_dockerfile_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "everything is left out unless named"
    kept = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    assert set(dockerfile_sources()) <= kept
    assert ".venv" not in kept and "tests" not in kept


def test_the_image_installs_the_lock_file_with_hashes_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    hashed = re.findall(r"^([\w.-]+)==\S+(?: \\\n\s+--hash=sha256:[0-9a-f]{64})+", lock, re.M)
    assert len(hashed) == lock.count("=="), "every pinned package carries its hashes"
    for requirement in ("celery", "redis", "jinja2", "feedgen", "requests", "flower", "sqlalchemy"):
        assert requirement in hashed, requirement


def test_every_shipped_template_renders_with_sample_data(tmp_path: Path) -> None:
    config_path = tmp_path / "herald.toml"
    write_example(config_path)
    checks = check_templates(load_config(config_path))
    assert [c for c in checks if c.error] == []
    covered = {name for check in checks for name in check.templates}
    on_disk = sorted(p.name for p in (ROOT / "templates").glob("*.j2"))
    assert sorted(covered) == on_disk


def test_a_broken_template_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", copy)
    (copy / "slack.mrkdwn.j2").write_text("{{ message.no_such_field }}", encoding="utf-8")
    (copy / "digest.txt.j2").unlink()
    monkeypatch.setenv("HERALD_TEMPLATES_DIR", str(copy))
    config_path = tmp_path / "herald.toml"
    write_example(config_path)
    failed = {c.what: c.error for c in check_templates(load_config(config_path)) if c.error}
    assert set(failed) == {"slack/message", "digest"}
    assert "no_such_field" in failed["slack/message"]
    assert "digest.txt.j2" in failed["digest"]


@pytest.mark.slow
def test_a_wheel_built_from_the_dockerfiles_inputs_renders_every_template(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for source in dockerfile_sources():
        origin = ROOT / source
        if origin.is_dir():  # as docker COPY does: symlinks stay symlinks
            shutil.copytree(origin, context / source, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        else:
            shutil.copy2(origin, context / source)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(context)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("herald-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in sorted(p.name for p in (ROOT / "templates").iterdir() if p.name[0] != "."):
        assert f"worker/templates/{template}" in names, template
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    env = {k: v for k, v in os.environ.items() if k != "HERALD_TEMPLATES_DIR"}
    env["PYTHONPATH"] = str(unpacked)
    run = subprocess.run(
        [sys.executable, "-c", RENDER_FROM_WHEEL],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout)
    assert Path(found["package"]).is_relative_to(unpacked)
    assert found["shipped"] == sorted(p.name for p in (ROOT / "templates").glob("*.j2"))
    assert [check for check in found["checks"] if check[2]] == []
    assert {name for check in found["checks"] for name in check[1]} == set(found["shipped"])
