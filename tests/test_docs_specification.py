"""The behavioural contract ships with the project: ``docs/specification.md``.

Code, tests and case files cite its sections as "§1".."§10", so the numbered headings must stay,
and nothing in the repository may point at a contract kept outside it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECIFICATION = ROOT / "docs" / "specification.md"
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

#: what a reference to the old, out-of-tree contract looks like
FORBIDDEN = ("../shared", "SPEC.md")

SECTIONS = {
    1: "Ranks, nodes, clients and servers",
    2: "Data description",
    3: "Iterations and the script",
    4: "damaris4py compatibility",
    5: "Dask",
    6: "The two seed simulations",
    7: "Ensembles of short simulations",
    8: "Upstream XML files",
    9: "Known deviations of upstream Damaris 1.7.1",
    10: "The seed's own form: PDI's Damaris plugin",
}


def tracked_files() -> list[str]:
    """Every file git tracks in this repository, relative to its root."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in listing.decode().split("\0") if name]


def test_the_specification_exists():
    assert SPECIFICATION.is_file()


def test_the_specification_has_sections_1_to_9_in_order():
    headings = re.findall(r"^## (\d+)\. (.+)$", SPECIFICATION.read_text(encoding="utf-8"), re.M)
    assert [int(number) for number, _ in headings] == list(SECTIONS)
    for (_, title), expected in zip(headings, SECTIONS.values(), strict=True):
        assert title.startswith(expected), (title, expected)


def test_no_tracked_file_refers_to_a_contract_outside_the_repository():
    offenders = []
    for name in tracked_files():
        path = ROOT / name
        if name == THIS_FILE or not path.is_file():
            continue
        text = path.read_bytes()
        offenders += [f"{name}: {word}" for word in FORBIDDEN if word.encode() in text]
    assert offenders == [], "use docs/specification.md instead:\n" + "\n".join(offenders)
