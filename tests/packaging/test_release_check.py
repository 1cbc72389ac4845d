"""The release check (``tox -e package``) finds a distribution that lacks a data file."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import release_check  # the script beside this test (pytest puts its folder on sys.path)


def _wheel(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return path


def _sdist(path: Path, names: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name in names:
            info = tarfile.TarInfo(f"damaris_reference-0.1.0/{name}")
            archive.addfile(info, io.BytesIO(b""))
    return path


def test_every_shipped_data_file_is_expected_at_its_installed_path():
    expected = release_check.expected_files()
    assert expected["conformance/probe.py"] == "damaris_ref/conformance/probe.py"
    assert expected["conformance/suite.ini"] == "damaris_ref/conformance/suite.ini"
    assert expected["reference/core/config/schema.json"] == "damaris_ref/core/config/schema.json"
    assert expected["conformance/case.schema.json"] == "damaris_ref/conformance/case.schema.json"
    record_schema = "conformance/probe-record.schema.json"  # ports validate records against it
    assert expected[record_schema] == "damaris_ref/conformance/probe-record.schema.json"
    cases = {p for p in expected if p.startswith("conformance/cases/")}
    shipped = (release_check.ROOT / "conformance" / "cases").glob("*.yaml")
    assert cases == {f"conformance/cases/{p.name}" for p in shipped}
    assert any(p.startswith("conformance/deviations/") for p in expected)
    assert any(p.startswith("reference/demo/") and p.endswith(".yml") for p in expected)


def test_a_wheel_or_sdist_missing_a_data_file_is_named(tmp_path):
    expected = release_check.expected_files()
    installed, sources = list(expected.values()), list(expected)
    assert release_check.missing_from_wheel(_wheel(tmp_path / "ok.whl", installed)) == []
    lacking = [p for p in installed if not p.endswith("suite.ini")]
    assert release_check.missing_from_wheel(_wheel(tmp_path / "bad.whl", lacking)) == [
        "damaris_ref/conformance/suite.ini"
    ]
    assert release_check.missing_from_sdist(_sdist(tmp_path / "ok.tar.gz", sources)) == []
    lacking = [p for p in sources if p != "reference/core/config/schema.json"]
    assert release_check.missing_from_sdist(_sdist(tmp_path / "bad.tar.gz", lacking)) == [
        "reference/core/config/schema.json"
    ]
