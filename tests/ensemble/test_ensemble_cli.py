"""``damaris-ref ensemble``: parameter parsing, the sweep table, JSON output and exit codes."""

from __future__ import annotations

import json

import pytest

from damaris_ref.cli import main
from damaris_ref.ensemble.input_error import EnsembleInputError
from damaris_ref.ensemble.params_input import (
    MAX_PARAM_SETS,
    build_param_sets,
    parse_param_option,
    parse_value,
)

from memory import peak_memory

pytestmark = pytest.mark.timeout(90)

SMALL_CLUSTER = ["--workers", "1", "--threads-per-worker", "2"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-2", -2),
        ("0.25", 0.25),
        ("1e-3", 0.001),
        ("true", True),
        ("False", False),
        ("none", None),
        ("lj", "lj"),
        (" spaced ", "spaced"),
    ],
)
def test_values_are_read_as_the_obvious_type(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_param_options_span_a_grid_in_order():
    sets = build_param_sets(["phi=0.1,0.2", "n=100"], None)
    assert sets == [{"phi": 0.1, "n": 100}, {"phi": 0.2, "n": 100}]


@pytest.mark.parametrize(
    ("option", "message"),
    [("phi", "expected NAME=VALUE"), ("=1", "expected NAME=VALUE"), ("phi=1,,2", "empty value")],
)
def test_malformed_param_options_are_explained(option, message):
    with pytest.raises(ValueError, match=message):
        parse_param_option(option)


def test_a_parameter_given_twice_is_refused():
    with pytest.raises(ValueError, match="--param a is given twice"):
        build_param_sets(["a=1", "a=2"], None)


def test_params_files_give_grids_or_explicit_sets(tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"phi": [0.1, 0.2], "n": 50}))
    assert build_param_sets(["seed=1,2"], grid) == [
        {"phi": 0.1, "n": 50, "seed": 1},
        {"phi": 0.1, "n": 50, "seed": 2},
        {"phi": 0.2, "n": 50, "seed": 1},
        {"phi": 0.2, "n": 50, "seed": 2},
    ]
    explicit = tmp_path / "sets.yaml"
    explicit.write_text("- {phi: 0.1, n: 10}\n- {phi: 0.3, n: 20}\n")
    assert build_param_sets(["n=99"], explicit) == [{"phi": 0.1, "n": 99}, {"phi": 0.3, "n": 99}]
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a mapping of name -> value"):
        build_param_sets([], bad)


def test_sweep_prints_a_table_and_writes_json(sim, tmp_path, capsys):
    output = tmp_path / "out.json"
    argv = ["ensemble", sim("echo"), "--param", "a=1,2", "--param", "tag=x", "--output"]
    assert main([*argv, str(output), *SMALL_CLUSTER, "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["a", "tag", "processed"]
    assert [line.split() for line in lines[1:]] == [["1", "x", "True"], ["2", "x", "True"]]
    records = json.loads(output.read_text())
    assert records[1] == {
        "params": {"a": 2, "tag": "x"},
        "result": {"a": 2, "tag": "x", "processed": True},
        "error": None,
    }


def test_failed_tasks_exit_1_and_are_listed(sim, capsys):
    code = main(["ensemble", sim("crash"), "--param", "k=1", *SMALL_CLUSTER, "--no-progress"])
    assert code == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out
    assert "task 0 {'k': 1} failed" in captured.err and "exit code 3" in captured.err


@pytest.mark.parametrize("codec", [["--codec", "safe"], []], ids=["asked", "by-default"])
def test_the_cli_decodes_with_the_safe_codec_unless_told_otherwise(sim, tmp_path, capsys, codec):
    """Unlike the drop-in API, the command line has no pickle-speaking callers to keep."""
    argv = ["ensemble", sim("malicious"), "--param", f"marker={tmp_path / 'owned'}"]
    assert main([*argv, *codec, "--timeout", "20", *SMALL_CLUSTER]) == 1
    assert "printed no safe-codec result line" in capsys.readouterr().err
    assert not (tmp_path / "owned").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--param", "a"], "expected NAME=VALUE"),
        ([], "no parameters given"),
        (["--param", "a=1", "--executable", ""], "--executable is empty"),
    ],
)
def test_bad_input_exits_2_with_a_message(sim, capsys, argv, message):
    assert main(["ensemble", sim("echo"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_script_exits_2(capsys):
    assert main(["ensemble", "no/such/script.py", "--param", "a=1"]) == 2
    assert "script 'no/such/script.py' does not exist" in capsys.readouterr().err


def refusal(options: list[str], params_file=None) -> EnsembleInputError:
    errors: list[EnsembleInputError] = []

    def build() -> None:
        try:
            build_param_sets(options, params_file)
        except EnsembleInputError as error:
            errors.append(error)

    peak = peak_memory(build)
    assert errors, "the grid was built"
    assert peak < 2_000_000, f"{peak} bytes held before refusing"
    return errors[0]


def test_a_grid_past_the_limit_is_refused_before_it_is_built():
    """Two --param of 1000 values once built their million sets before anything looked."""
    values = ",".join(map(str, range(1000)))
    error = refusal([f"a={values}", f"b={values}"])
    assert str(error) == (
        f"the parameters span 1000000 sets (1000 x 1000); allowed: at most {MAX_PARAM_SETS} "
        "simulations per ensemble: split the sweep into smaller ones"
    )


def test_a_params_file_grid_past_the_limit_is_refused_with_the_options_it_meets(tmp_path):
    grid = tmp_path / "grid.json"  # 12 KB: three names of 1000 values each, 10**9 sets
    grid.write_text(json.dumps({name: list(range(1000)) for name in "xyz"}))
    error = refusal(["seed=1,2"], grid)
    assert str(error).startswith("the parameters span 2000000000 sets (1000 x 1000 x 1000 x 2);")


def test_a_params_file_is_read_by_the_guarded_yaml_loader(tmp_path):
    """A YAML alias bomb in the sets once loaded as nine small sets, whose values expanded
    to 9**9 items only when they were sent to the simulations."""
    lines = ["- {seed: 0, blob: &a0 [x, x, x, x, x, x, x, x, x]}"]
    lines += [
        f"- {{seed: {n}, blob: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]}}" for n in range(1, 9)
    ]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    error = refusal([], bomb)
    assert str(error).startswith(f"--params-file {str(bomb)!r}: {bomb}:")
    assert "aliases would repeat" in str(error)
