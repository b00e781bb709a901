"""The local OSV query server used by ``scripts/audit-deps`` with an offline database."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from packaging.version import Version

_spec = importlib.util.spec_from_file_location(
    "osv_query_server", Path(__file__).parents[1] / "scripts" / "osv_query_server.py"
)
assert _spec is not None and _spec.loader is not None
osv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(osv)

RECORD = """\
id: PYSEC-0000-1
published: 2024-01-29T23:15:00Z
affected:
- package: {name: Some_Package, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 2.0.1
    - introduced: 3.0
    - last_affected: 3.2
  versions:
  - 1.10
"""


@pytest.fixture
def db(tmp_path: Path):
    (tmp_path / "some-package").mkdir()
    (tmp_path / "some-package" / "PYSEC-0000-1.yaml").write_text(RECORD)
    withdrawn = RECORD.replace("PYSEC-0000-1", "PYSEC-0000-2") + "withdrawn: 2024-02-01T00:00:00Z\n"
    (tmp_path / "some-package" / "PYSEC-0000-2.yaml").write_text(withdrawn)
    return osv.load(tmp_path)


@pytest.mark.parametrize(
    ("version", "hit"),
    [("0.1", True), ("2.0.0", True), ("2.0.1", False), ("2.5", False), ("3.0", True),
     ("3.2", True), ("3.2.1", False), ("1.10", True)],
)  # fmt: skip
def test_ranges_and_listed_versions(db, version, hit):
    [record, _] = db["some-package"]
    assert osv.affects(record, "some-package", Version(version)) is hit


def test_scalars_stay_as_written(db):
    record = db["some-package"][0]
    assert record["affected"][0]["versions"] == ["1.10"]  # not the float 1.1
    assert record["published"] == "2024-01-29T23:15:00Z"  # RFC 3339 text for pip-audit
    assert "withdrawn" in db["some-package"][1]
