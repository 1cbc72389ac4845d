"""The DAMARIS_* settings are parsed in one place, and a bad value is a located ConfigError."""

from __future__ import annotations

import math

import pytest

from damaris_ref.core import settings as environment
from damaris_ref.core.config import ConfigError

#: setting -> (bad texts, what the message says is allowed)
BAD = {
    environment.RANKS_PER_NODE: (["-1", "two", "1.5"], "an integer >= 0 (0 = real hosts)"),
    environment.BUFFER_WAIT: (["-0.5", "soon", "nan"], "a number of seconds >= 0"),
    environment.SHARED_ERROR_DEADLINE: (["0", "-3", "soon", "nan"], "a number of seconds > 0"),
    environment.ENSEMBLE_TIMEOUT: (["0", "-1", "soon"], "a number of seconds > 0, or 'none'"),
    environment.ENSEMBLE_CODEC: (["yaml", "Pickle"], "one of pickle, safe"),
    environment.LOG_LEVEL: (["loud", "10"], "one of debug, info, warning, error"),
}
GOOD = {
    environment.RANKS_PER_NODE: ("3", 3),
    environment.BUFFER_WAIT: ("0", 0.0),
    environment.SHARED_ERROR_DEADLINE: ("2.5", 2.5),
    environment.ENSEMBLE_TIMEOUT: ("none", math.inf),
    environment.ENSEMBLE_CODEC: ("safe", "safe"),
    environment.LOG_LEVEL: ("INFO", "info"),
}


def test_every_setting_is_tested():
    assert set(BAD) == set(GOOD) == set(environment.SETTINGS)


@pytest.mark.parametrize(
    ("setting", "text"),
    [(setting, text) for setting, (texts, _) in BAD.items() for text in texts],
    ids=str,
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_valid(setting, text):
    with pytest.raises(ConfigError) as caught:
        setting.read({setting.name: text})
    error = caught.value
    assert (error.file, error.path, error.line) == ("environment", setting.name, None)
    assert str(error).startswith(
        f"environment: {setting.name}: invalid value {text!r}; allowed: {BAD[setting][1]}"
    )


@pytest.mark.parametrize("setting", environment.SETTINGS, ids=str)
def test_a_good_value_is_parsed_and_unset_or_empty_gives_the_default(setting):
    text, value = GOOD[setting]
    assert setting.read({setting.name: f" {text} "}) == value
    assert setting.read({}) == setting.read({setting.name: ""}) == setting.default


def test_the_process_environment_is_read_by_default(monkeypatch):
    monkeypatch.setenv("DAMARIS_BUFFER_WAIT", "0.25")
    assert environment.BUFFER_WAIT.read() == 0.25


def test_the_environment_module_loads_no_heavy_module():
    import subprocess
    import sys

    code = (
        "import sys, damaris_ref.core.settings\n"
        "print(sorted(m for m in ('typing', 'damaris_ref.core.config', 'numpy')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
