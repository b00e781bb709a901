"""Security facts that can be checked statically here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.hostile

ROOT = Path(__file__).resolve().parents[2]


def test_docker_image_runs_as_a_non_root_user():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must end as a non-root user"
    created = re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text())
    assert created and int(created.group(1)) >= 1000
    assert lines.index(next(x for x in lines if x.startswith("CMD"))) > lines.index(
        f"USER {users[-1]}"
    )


def test_no_secret_is_passed_on_a_command_line():
    """Keys are read from the environment or stdin; no CLI option takes one."""
    source = "\n".join(p.read_text() for p in (ROOT / "agent").glob("*.py"))
    options = re.findall(r'add_argument\(\s*"(--[a-z-]+)"', source)
    assert options and not any(re.search(r"key|secret|token|password", o) for o in options), options
