"""``damaris-ref check-script``: flags what works in plain Python but fails on Damaris' exec.

The oracle tests run each script the way upstream does, ``exec(code, G, L)`` with two dicts,
and require a finding exactly when that raises NameError.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import itertools
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from damaris_ref.check.analysis import MAX_SCRIPT_BYTES, Finding, check_file, check_source
from damaris_ref.cli import main


def check(source: str) -> list[Finding]:
    return check_source(textwrap.dedent(source), "script.py")


def raises_name_error_upstream(source: str) -> bool:
    """Run ``source`` as upstream Damaris does; True if it raised NameError."""
    G = {"__name__": "__main__", "__builtins__": builtins}
    L = {"DamarisData": {"iteration_data": {}, "damaris_env": {}}}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, "script.py", "exec", dont_inherit=True), G, L)
    except NameError:
        return True
    return False


# --- each kind, built inline ---------------------------------------------------------------


def test_clean_upstream_style_script_has_no_findings():
    source = """
        def main(DamarisData):
            import numpy as np
            from os import path

            keys = list(DamarisData)
            total = np.sum([len(k) for k in keys])
            print(path.sep, total, sorted(keys))

        if __name__ == "__main__":
            main(DamarisData)
    """
    assert check(source) == []
    assert not raises_name_error_upstream(textwrap.dedent(source))


def test_top_level_import_used_in_main_is_flagged_at_its_use():
    findings = check(
        """\
        import os

        def main(data):
            x = 1
            return os.getcwd(), os.sep

        main(DamarisData)
        """
    )
    assert [(f.kind, f.name, f.line, f.col) for f in findings] == [("top-level-name", "os", 5, 12)]
    assert findings[0].message == (
        "name 'os' is imported at the script's top level but used inside function 'main'; "
        "on Damaris the script's top-level names are not visible inside its functions: "
        "import it inside 'main'"
    )
    assert str(findings[0]).startswith("script.py:5:12: name 'os' is imported")


def test_helper_function_called_from_main_is_flagged():
    findings = check(
        """\
        def helper(x):
            return x + 1

        def main(data):
            return helper(2)
        """
    )
    assert [(f.kind, f.name, f.line) for f in findings] == [("top-level-name", "helper", 5)]
    assert findings[0].message.endswith(
        "not visible inside its functions: pass it as an argument or define it inside 'main'"
    )
    assert "name 'helper' is defined at the script's top level" in findings[0].message


@pytest.mark.parametrize(
    "binding",
    ["SCALE = 2.0", "class SCALE: pass", "SCALE: float = 2.0", "for SCALE in range(3): pass"],
)
def test_top_level_constants_and_classes_are_flagged(binding):
    findings = check(f"{binding}\ndef main():\n    return SCALE\n")
    assert [(f.kind, f.name, f.line) for f in findings] == [("top-level-name", "SCALE", 3)]


def test_top_level_code_in_if_main_and_try_blocks_counts_as_top_level():
    findings = check(
        """\
        try:
            import numpy as np
        except ImportError:
            np = None
        if __name__ == "__main__":
            LIMIT = 3
            def main():
                return np, LIMIT
        """
    )
    assert [(f.name, "imported" in f.message) for f in findings] == [
        ("np", True),
        ("LIMIT", False),
    ]


def test_first_use_per_function_is_reported_once():
    findings = check(
        """\
        import os
        def f():
            return os.sep + os.sep + [os for _ in "ab"][0].sep
        def g():
            return os.sep
        """
    )
    assert [(f.name, f.line, "'f'" in f.message) for f in findings] == [
        ("os", 3, True),
        ("os", 5, False),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "import os\n    return os.sep",  # imported inside
        "os = 3\n    return os",  # rebound locally
        "from os import sep as os\n    return os",
        "return [os for os in range(2)]",  # comprehension variable
        "def os():\n        return 1\n    return os()",  # nested def
        "try:\n        pass\n    except Exception as os:\n        pass",
        "with open(__file__) as os:\n        return os",
        "return (os := 1)",
        "for os in range(1):\n        return os",
    ],
)
def test_a_name_bound_inside_the_function_is_not_flagged(body):
    assert check(f"import os\ndef main():\n    {body}\n") == []


def test_parameters_and_closures_are_not_flagged():
    source = """
        import os

        def main(os, *args, helper=None, **kwargs):
            return os

        def outer():
            sep = "/"
            def inner():
                def innermost():
                    return sep
                return innermost()
            return inner(), (lambda: sep)(), [sep for _ in "x"]
        sep = ":"
    """
    assert check(source) == []


def test_builtins_and_dunder_globals_are_not_flagged():
    assert check("def main():\n    print(len([1]), range, __name__, super)\n") == []


def test_global_declared_names_are_not_flagged():
    source = """
        import os
        counter = 0

        def bump():
            global counter
            counter += 1

        def report():
            return counter

        def setup():
            global os
        def use():
            return os.sep
    """
    assert check(source) == []


def test_undefined_names_are_left_to_other_linters():
    assert check("def main():\n    return not_defined_anywhere\n") == []


def test_damarisdata_read_inside_a_function_is_flagged():
    findings = check(
        """\
        def main():
            keys = list(DamarisData)
            return DamarisData, keys

        main()
        """
    )
    assert [(f.kind, f.name, f.line, f.col) for f in findings] == [
        ("damarisdata-in-function", "DamarisData", 2, 17)
    ]
    assert findings[0].message == (
        "DamarisData is read inside function 'main'; on Damaris it is only visible at the "
        "script's top level: pass it as an argument (main(DamarisData))"
    )


def test_damarisdata_read_at_top_level_once_a_function_declares_it_global_is_flagged():
    findings = check(
        """\
        def reset():
            global DamarisData

        print(DamarisData)
        """
    )
    assert [(f.kind, f.name, f.line, f.col) for f in findings] == [
        ("damarisdata-declared-global", "DamarisData", 4, 7)
    ]
    assert findings[0].message == (
        "DamarisData is read at the script's top level, but 'reset' declares it global, so "
        "the top level reads it from the globals too, where Damaris does not put it (it is "
        "among the script's local names): drop that global declaration"
    )


def test_damarisdata_at_top_level_or_as_a_parameter_is_fine():
    source = "keys = [k for k in DamarisData]\ndef main(DamarisData):\n    return DamarisData\n"
    assert check(source) == []


def test_module_level_comprehensions_lambdas_and_class_bodies_are_flagged():
    findings = check(
        """\
        k = 3
        squares = [x * k for x in range(4)]
        f = lambda: k
        class Box:
            size = k
            def area(self):
                return k
        """
    )
    assert [(f.name, f.line) for f in findings] == [("k", 2), ("k", 3), ("k", 5), ("k", 7)]
    assert "'<listcomp>'" in findings[0].message
    assert "(lambda k=k: ...)" in findings[1].message
    assert "class 'Box'" in findings[2].message
    assert "function 'Box.area'" in findings[3].message


def test_the_first_iterable_of_a_module_level_comprehension_is_top_level():
    assert check("xs = [1, 2]\nys = [x for x in xs]\n") == []


@pytest.mark.parametrize(
    ("source", "line"),
    [("def main(:\n    pass\n", 1), ("x = 1\n\ndef f():\n    nonlocal x\n", 4)],
)
def test_a_syntax_error_is_one_finding_with_its_line(source, line):
    [finding] = check_source(source, "bad.py")
    assert (finding.kind, finding.line) == ("syntax-error", line)
    assert str(finding).startswith(f"bad.py:{line}:")
    assert "syntax error" in finding.message


def test_check_file_reads_the_file(tmp_path: Path):
    path = tmp_path / "s.py"
    path.write_text("import os\ndef main():\n    return os\n")
    assert [f.filename for f in check_file(path)] == [str(path)]


# --- the CLI --------------------------------------------------------------------------------


def test_cli_exits_0_on_a_clean_script(tmp_path: Path, capsys):
    clean = tmp_path / "clean.py"
    clean.write_text("def main(DamarisData):\n    import os\n    return os\nmain(DamarisData)\n")
    assert main(["check-script", str(clean), str(clean)]) == 0
    assert capsys.readouterr().out == "ok: no findings in 2 file(s)\n"


def test_cli_exits_1_and_prints_each_finding(tmp_path: Path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ndef main():\n    return os, DamarisData\n")
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    assert main(["check-script", str(bad), str(clean)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{bad}:3:12: name 'os' is imported")
    assert lines[1].startswith(f"{bad}:3:16: DamarisData is read inside function 'main'")
    assert lines[2] == "2 finding(s) in 2 file(s)"
    assert len(lines) == 3


def test_cli_exits_2_naming_a_file_it_cannot_read(tmp_path: Path, capsys):
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    missing = tmp_path / "missing.py"
    assert main(["check-script", str(missing), str(clean)]) == 2
    captured = capsys.readouterr()
    assert f"cannot analyse {missing}: cannot read it: No such file" in captured.err
    assert captured.out == "no findings in 1 file(s); 1 file(s) not analysed\n"


def test_cli_never_says_ok_when_no_file_could_be_analysed(tmp_path: Path, capsys):
    missing = tmp_path / "missing.py"
    assert main(["check-script", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"damaris-ref check-script: cannot analyse {missing}: ")
    assert len(captured.err.splitlines()) == 1
    assert captured.out == "no findings in 0 file(s); 1 file(s) not analysed\n"


def test_cli_counts_findings_beside_a_file_it_cannot_analyse(tmp_path: Path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ndef main():\n    return os\n")
    assert main(["check-script", str(bad), str(tmp_path / "missing.py")]) == 2
    assert capsys.readouterr().out.splitlines()[-1] == (
        "1 finding(s) in 1 file(s); 1 file(s) not analysed"
    )


# --- inputs the checker cannot take apart --------------------------------------------------

#: a function reading a top-level import through deeply nested syntax Python compiles fine
DEEP_SCRIPTS = {
    "a 500-term sum": "import os\ndef main():\n    return " + " + ".join(["os.sep"] * 500),
    "600 elifs": "import os\ndef main(x):\n    if x == -1:\n        pass\n"
    + "".join(f"    elif x == {i}:\n        pass\n" for i in range(600))
    + "    elif os:\n        pass\n",
    "a 900-deep call chain": "import os\ndef main():\n    return os.getcwd()" + ".strip()" * 899,
}


@pytest.mark.parametrize("source", DEEP_SCRIPTS.values(), ids=DEEP_SCRIPTS.keys())
def test_deeply_nested_syntax_that_python_compiles_is_analysed(source):
    compile(source, "deep.py", "exec", dont_inherit=True)  # Python itself takes it
    findings = check_source(source + "\n", "deep.py")
    assert [(f.kind, f.name) for f in findings] == [("top-level-name", "os")]


def cli(*paths: Path | str) -> int:
    return main(["check-script", *map(str, paths)])


@pytest.fixture
def with_finding(tmp_path: Path) -> Path:
    path = tmp_path / "finding.py"
    path.write_text("import os\ndef main():\n    return os\n")
    return path


def test_a_script_python_cannot_compile_is_a_verdict_and_the_others_are_checked(
    tmp_path: Path, with_finding: Path, capsys
):
    unary = tmp_path / "unary.py"
    unary.write_text("x = " + "-" * 100_000 + "1\n")
    assert cli(unary, with_finding) == 2
    captured = capsys.readouterr()
    assert f"damaris-ref check-script: cannot analyse {unary}: Python cannot compile it" in (
        captured.err
    )
    assert f"{with_finding}:3:12: name 'os'" in captured.out
    assert "Traceback" not in captured.err


def test_an_encoding_that_is_not_text_is_a_syntax_error_as_for_python(tmp_path: Path, capsys):
    rot13 = tmp_path / "rot13.py"
    rot13.write_text("# coding: rot13\nvzcbeg bf\n")
    assert cli(rot13) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{rot13}:1:1: syntax error: encoding problem: rot13")


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda path: os.mkfifo(path), "a FIFO"),
        (lambda path: path.symlink_to("/dev/zero"), "a character device"),
        (lambda path: path.mkdir(), "a directory"),
    ],
    ids=["fifo", "dev-zero", "directory"],
)
def test_a_file_that_is_not_regular_is_refused_at_once(
    tmp_path: Path, with_finding: Path, capsys, make, kind
):
    special = tmp_path / "special.py"
    make(special)
    assert cli(special, with_finding) == 2
    captured = capsys.readouterr()
    assert f"cannot analyse {special}: not a regular file ({kind})" in captured.err
    assert f"{with_finding}:3:12: name 'os'" in captured.out


def test_a_file_larger_than_any_script_is_refused_unread(tmp_path: Path, capsys):
    huge = tmp_path / "huge.py"
    with huge.open("wb") as file:
        file.truncate(MAX_SCRIPT_BYTES + 1)  # sparse: nothing is written
    assert cli(huge) == 2
    assert f"cannot analyse {huge}: {MAX_SCRIPT_BYTES + 1} bytes" in capsys.readouterr().err


# --- the oracle: the checker agrees with upstream's two-dict exec ----------------------------

#: ways to bind NAME before it is used (none: DamarisData, which Damaris puts in L, or builtins)
BINDINGS = {
    "import": "import math as NAME\n",
    "assign": "NAME = 1\n",
    "def": "def NAME():\n    return 1\n",
    "class": "class NAME:\n    pass\n",
    "try_import": "try:\n    import math as NAME\nexcept ImportError:\n    NAME = None\n",
    "global_in_function": "def set_NAME():\n    global NAME\n    NAME = 1\nset_NAME()\n",
    "global_declared_elsewhere": "NAME = 1\ndef declare_NAME():\n    global NAME\n",
    "walrus_in_comprehension": "_ = [(NAME := 1) for _ in range(1)]\n",
    "provided": "",  # NAME is DamarisData or a builtin
}

#: ways to read NAME; each runs the read
USES = {
    "top_level": "_ = NAME\n",
    # a global declaration anywhere makes the top level read (and store) NAME in G
    "top_level_declared_global": "def declare_NAME():\n    global NAME\n_ = NAME\n",
    "function": "def use_NAME():\n    return NAME\nuse_NAME()\n",
    "function_param": "def use_NAME(NAME):\n    return NAME\nuse_NAME(2)\n",
    "function_local": "def use_NAME():\n    NAME = 2\n    return NAME\nuse_NAME()\n",
    "function_import": "def use_NAME():\n    import math as NAME\n    return NAME\nuse_NAME()\n",
    "function_global": "def use_NAME():\n    global NAME\n    return NAME\nuse_NAME()\n",
    "nested_function": (
        "def outer_NAME():\n    def inner():\n        return NAME\n    return inner()\n"
        "outer_NAME()\n"
    ),
    "closure": (
        "def outer_NAME():\n    NAME = 2\n    def inner():\n        return NAME\n"
        "    return inner()\nouter_NAME()\n"
    ),
    "if_main_function": (
        'if __name__ == "__main__":\n    def use_NAME():\n        return NAME\n    use_NAME()\n'
    ),
    "lambda": "(lambda: NAME)()\n",
    "lambda_default": "(lambda x=NAME: x)()\n",
    "listcomp": "_ = [NAME for _ in range(1)]\n",
    "listcomp_first_iterable": "_ = [x for x in [NAME]]\n",
    "genexp_in_function": "def use_NAME():\n    return list(NAME for _ in range(1))\nuse_NAME()\n",
    "class_body": "class Use_NAME:\n    x = NAME\n",
    "class_annotation": "class Use_NAME:\n    x: NAME\n",
    "method": "class Use_NAME:\n    def m(self):\n        return NAME\nUse_NAME().m()\n",
    "method_default": "class Use_NAME:\n    def m(self, x=NAME):\n        return x\n",
    "function_annotation": "def use_NAME(x: NAME = None):\n    return x\nuse_NAME()\n",
}


def _pairs() -> list[tuple[str, str, str]]:
    pairs = []
    for binding, use in itertools.product(BINDINGS, USES):
        names = ["DamarisData", "len"] if binding == "provided" else ["thing"]
        pairs.extend((binding, use, name) for name in names)
    return pairs


def _script(binding: str, use: str, name: str) -> str:
    return (BINDINGS[binding] + USES[use]).replace("NAME", name)


@pytest.mark.parametrize(("binding", "use", "name"), _pairs())
def test_checker_agrees_with_upstream_exec(binding, use, name):
    source = _script(binding, use, name)
    findings = check_source(source, "script.py")
    assert {f.name for f in findings} <= {name}
    assert bool(findings) == raises_name_error_upstream(source), source


def test_the_oracle_matrix_has_both_outcomes():
    outcomes = {raises_name_error_upstream(_script(*pair)) for pair in _pairs()}
    assert outcomes == {True, False}


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(BINDINGS)), st.sampled_from(sorted(USES))),
        min_size=1,
        max_size=4,
    )
)
# a local DamarisData in one function, and another reading it under ``global``: not in G
@example(pairs=[("provided", "closure"), ("provided", "function_global")])
def test_checker_agrees_with_upstream_exec_on_mixed_scripts(pairs):
    """Several names, each bound and used its own way, in one script."""
    bindings = "".join(
        BINDINGS[binding].replace("NAME", f"thing{i}") for i, (binding, _use) in enumerate(pairs)
    )
    uses = "".join(
        USES[use].replace("NAME", "DamarisData" if binding == "provided" else f"thing{i}")
        for i, (binding, use) in enumerate(pairs)
    )
    source = bindings + uses
    findings = check_source(source, "script.py")
    assert bool(findings) == raises_name_error_upstream(source), source


# --- --config: the scripts a config names ----------------------------------------------------

CONFIG = """damaris:
  architecture: {dedicated: {core: 1}}
  layouts: {one: {type: int, dimensions: "1"}}
  variables: {x: {layout: one, script: both}}
  pyscript:
    - {name: both, file: scripts/bad.py}
    - {name: again, file: scripts/clean.py}
"""


def _project(folder: Path) -> Path:
    """A config naming two scripts in a folder of their own, one with a finding."""
    (folder / "scripts").mkdir()
    (folder / "scripts" / "bad.py").write_text("import os\ndef main():\n    return os\n")
    (folder / "scripts" / "clean.py").write_text("x = 1\n")
    (folder / "driver.py").write_text("import os\ndef main():\n    return os\n")  # not named
    config = folder / "sim.yml"
    config.write_text(CONFIG)
    return config


def test_cli_config_checks_exactly_the_scripts_the_config_names(tmp_path: Path, capsys):
    config = _project(tmp_path)
    assert main(["check-script", "--config", str(config)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'scripts' / 'bad.py'}:3:12: name 'os' is imported")
    assert lines[1:] == ["1 finding(s) in 2 file(s)"]


def test_cli_config_adds_to_the_files_given(tmp_path: Path, capsys):
    config = _project(tmp_path)
    clean = tmp_path / "scripts" / "clean.py"
    assert main(["check-script", str(clean), "--config", str(config)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "1 finding(s) in 2 file(s)"  # once each


def test_cli_config_that_does_not_load_is_one_error_line(tmp_path: Path, capsys):
    config = tmp_path / "broken.yml"
    config.write_text("damaris:\n  pyscripts: []\n")
    assert main(["check-script", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"damaris-ref check-script: {config}:2: ")
    assert len(captured.err.splitlines()) == 1 and captured.out == ""


def test_cli_needs_a_file_or_a_config(capsys):
    assert main(["check-script"]) == 2
    assert capsys.readouterr().err == (
        "damaris-ref check-script: nothing to check: give FILE... or --config FILE\n"
    )
