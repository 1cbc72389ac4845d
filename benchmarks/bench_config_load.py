"""Benchmark of config loading against bare parsers of the same text, measured in the same run.

1. A generated YAML config of about ``--megabytes`` MB: ``load_config_text`` (parse, schema,
   cross-checks, every layout evaluated) against ``yaml.load(text, yaml.CSafeLoader)``, which
   only parses. The goal: a 10 MB config in under 5 s.
2. The same config as upstream XML: the loader against a bare ``expat`` parse.
3. The 9 x 9 alias bomb (572 bytes, 9**9 nodes expanded): how long until it is refused.

Each load is printed as a ratio to its bare parse (the floor) and written to JSON
(``--json``, default ``out/bench_config_load/bench_config_load.json``).

    python benchmarks/bench_config_load.py [--megabytes 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

import yaml
from floors import FloorReport, add_output_options, json_path

from damaris_ref.core.config import (
    Architecture,
    Config,
    ConfigError,
    Layout,
    Parameter,
    PyScript,
    Variable,
    dump_xml,
    dump_yaml,
    load_config_text,
)

#: bytes one generated group (3 parameters, 2 layouts, 2 variables) takes in YAML, roughly
_GROUP_BYTES = 770


def generated(megabytes: float) -> Config:
    """A 3dmesh-like config repeated: per group, a cube's sizes, its block and global layouts."""
    groups = max(1, int(megabytes * 1e6 / _GROUP_BYTES))
    parameters, layouts, variables = [], [], []
    for g in range(groups):
        width, height, depth = (f"WIDTH_{g}", f"HEIGHT_{g}", f"DEPTH_{g}")
        parameters += [Parameter(width, "int", 16), Parameter(height, "int", 8)]
        parameters.append(Parameter(depth, "int", 4 + g % 4))
        for kind in ("int", "double"):
            name = f"simulation/part_{g}/cells_{kind}"
            layouts.append(
                Layout(
                    name,
                    kind,
                    (f"{depth}/2+1", height, f"({width}*2-1)/3"),
                    (depth, height, width),
                    ((0, 0), (1, 1), (0, 0)),
                )
            )
            variables.append(Variable(f"part_{g}/field_{kind}", name, script="analysis"))
    return Config(
        "generated",
        Architecture(dedicated_cores=1),
        parameters=tuple(parameters),
        layouts=tuple(layouts),
        variables=tuple(variables),
        pyscripts=(PyScript("analysis", Path("analysis.py")),),
    )


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """The shortest of ``repeat`` wall-clock times of ``action()``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def expat_parse(text: str) -> None:
    """What any XML reader pays: expat building no tree."""
    expat.ParserCreate(namespace_separator=" ").Parse(text, True)


def alias_bomb(levels: int = 9, fan_out: int = 9) -> str:
    lines = [f"  a0: &a0 [{', '.join(['x'] * fan_out)}]"]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan_out)}]")
    return "pdi:\n" + "\n".join(lines) + "\n  plugins: {damaris: {}}\n"


def refusal_seconds(text: str) -> float:
    start = time.perf_counter()
    try:
        load_config_text(text, "yaml", environ={})
    except ConfigError:
        return time.perf_counter() - start
    raise AssertionError("the alias bomb loaded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    add_output_options(parser, "bench_config_load")
    args = parser.parse_args()
    report = FloorReport("bench_config_load")
    table = []
    config = generated(args.megabytes)
    texts = {"yaml": dump_yaml(config), "xml": dump_xml(config)}
    baselines = {
        "yaml": ("yaml.CSafeLoader parse", lambda t: yaml.load(t, yaml.CSafeLoader)),
        "xml": ("expat parse", expat_parse),
    }
    print(f"{len(config.layouts)} layouts, {len(config.variables)} variables")
    print(f"{'format':<6} {'MB':>5} {'load s':>7} {'baseline':<24} {'base s':>7} {'ratio':>6}")
    for fmt, text in texts.items():
        assert load_config_text(text, fmt, environ={}) == config
        load = best_of(args.repeat, lambda: load_config_text(text, fmt, environ={}))  # noqa: B023
        name, bare = baselines[fmt]
        base = best_of(args.repeat, lambda: bare(text))  # noqa: B023
        print(
            f"{fmt:<6} {len(text) / 1e6:5.1f} {load:7.2f} {name:<24} {base:7.2f} {load / base:6.2f}"
        )
        table.append({"format": fmt, "bytes": len(text), "load_s": load, "parse_s": base})
        report.add(f"load_config_text, {fmt}", load, name, base, unit="s")
    bomb = alias_bomb()
    refused = refusal_seconds(bomb)
    print(f"9 x 9 alias bomb ({len(bomb)} bytes): refused in {refused * 1e3:.1f} ms")
    table.append({"format": "alias bomb", "bytes": len(bomb), "refused_s": refused})
    report.finish(json_path(args, "bench_config_load"), table, vars(args))


if __name__ == "__main__":
    main()
