"""``DAMARIS_RANKS_PER_NODE`` overrides ``architecture.ranks_per_node`` (spec §1)."""

from __future__ import annotations

import pytest

from damaris_ref.core.config import ConfigError, apply_environment, load_config_text

YAML = "damaris:\n  architecture: {ranks_per_node: 2}\n"
XML = '<simulation name="s"><architecture ranks-per-node="2"/></simulation>'


@pytest.mark.parametrize(("text", "fmt"), [(YAML, "yaml"), (XML, "xml")])
def test_environment_overrides_the_file_in_both_formats(text, fmt):
    environ = {"DAMARIS_RANKS_PER_NODE": "3"}
    assert load_config_text(text, fmt, environ=environ).architecture.ranks_per_node == 3
    assert load_config_text(text, fmt, environ={}).architecture.ranks_per_node == 2


def test_loading_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("DAMARIS_RANKS_PER_NODE", "5")
    assert load_config_text(YAML, "yaml").architecture.ranks_per_node == 5
    monkeypatch.setenv("DAMARIS_RANKS_PER_NODE", "")
    assert load_config_text(YAML, "yaml").architecture.ranks_per_node == 2


def test_zero_from_the_environment_means_real_hosts():
    config = load_config_text(YAML, "yaml", environ={})
    assert (
        apply_environment(config, {"DAMARIS_RANKS_PER_NODE": "0"}).architecture.ranks_per_node == 0
    )


@pytest.mark.parametrize("bad", ["-1", "two", "1.5"])
def test_bad_environment_values_are_errors_naming_the_variable(bad, expect_error):
    config = load_config_text(YAML, "yaml", environ={})
    with pytest.raises(ConfigError) as caught:
        apply_environment(config, {"DAMARIS_RANKS_PER_NODE": bad})
    expect_error(
        caught.value, "environment", "DAMARIS_RANKS_PER_NODE", None, repr(bad), "an integer >= 0"
    )
