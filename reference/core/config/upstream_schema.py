"""The structural rules of upstream Damaris's XML schema that decide whether it starts at all.

Upstream validates its configuration at start-up and stops ("expected element not
encountered", exit 255) unless ``<architecture>`` holds each of ``domains``, ``dedicated``,
``buffer``, ``placement`` and ``queue`` exactly once (in any order) and ``<simulation>`` has its
children in the order below. Every XML file the reference or the suite writes for a port is
checked against these rules (spec §8); the loader itself is more lenient, as it reads files
written by hand.
"""

from __future__ import annotations

from xml.etree import ElementTree

from .xml_loader import NAMESPACE

#: children ``<architecture>`` must hold exactly once each, in any order
ARCHITECTURE_CHILDREN = ("domains", "dedicated", "buffer", "placement", "queue")
#: the order of ``<simulation>``'s children; only ``architecture`` and ``data`` are required
SIMULATION_ORDER = (
    "architecture",
    "data",
    "storage",
    "actions",
    "scripts",
    "visit",
    "paraview",
    "log",
)
_REQUIRED = ("architecture", "data")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def upstream_structure_problems(text: str) -> list[str]:
    """What would make upstream refuse this XML at start-up; empty when it would start."""
    root = ElementTree.fromstring(text)
    problems = []
    if root.tag != f"{{{NAMESPACE}}}simulation":
        problems.append(f"root element is {root.tag!r}, not <simulation> in {NAMESPACE}")
    if "name" not in root.attrib:
        problems.append("<simulation> has no name attribute (required)")
    children = [_local(child.tag) for child in root]
    unknown = [c for c in children if c not in SIMULATION_ORDER]
    if unknown:
        problems.append(f"<simulation> has unknown children {unknown}")
    known = [c for c in children if c in SIMULATION_ORDER]
    if len(set(known)) != len(known):
        problems.append(f"<simulation> repeats a child: {known}")
    if known != sorted(known, key=SIMULATION_ORDER.index):
        problems.append(f"<simulation> children {known} are not in the order {SIMULATION_ORDER}")
    problems += [f"<simulation> has no <{name}>" for name in _REQUIRED if name not in known]
    for architecture in root.iter(f"{{{NAMESPACE}}}architecture"):
        held = [_local(child.tag) for child in architecture]
        for name in ARCHITECTURE_CHILDREN:
            if held.count(name) != 1:
                problems.append(
                    f"<architecture> holds <{name}> {held.count(name)} time(s); upstream needs "
                    "it exactly once"
                )
    return problems
