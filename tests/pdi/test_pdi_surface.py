"""PDI's Python surface on its own: sharing, access, multi_expose, and the errors of bad calls.

None of these reach Damaris: the session's client API fails the test if they do.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from damaris_ref import pdi

from pdi_runs import session
from pdi_specs import ONE_VARIABLE_SPEC

SPEC = ONE_VARIABLE_SPEC + "    write: {v: {when: '$iter>0'}}\n"


def test_the_access_flags_have_pdis_values():
    assert (pdi.NONE, pdi.IN, pdi.OUT, pdi.INOUT) == (0, 1, 2, 3)


def test_calls_before_init_are_errors():
    with pytest.raises(pdi.Error, match=r"pdi.event: call pdi.init\(spec\) first"):
        pdi.event("initialize")


def test_init_twice_is_an_error():
    with session(SPEC), pytest.raises(pdi.Error, match="init called twice"):
        pdi.init(SPEC)


def test_init_takes_a_mapping_as_pdis_yaml_dump_of_it():
    with session(yaml.safe_load(SPEC)):
        pdi.expose("iter", 0, pdi.OUT)


def test_a_bad_spec_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(SPEC.replace("name: v, layout: one", "name: v, layout: none"))
    with pytest.raises(pdi.Error, match=r"bad\.yml:\d+: .*none"):
        pdi.init(path)


def test_a_file_name_given_as_text_gets_a_hint():
    with pytest.raises(pdi.Error, match=r"to read a file, pass pathlib\.Path"):
        pdi.init("3dmesh_py.yml")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("damaris_wrte", "unknown Damaris event 'damaris_wrte'; did you mean 'damaris_write'?"),
        ("damaris_signal", "registers it but has no handler"),
    ],
)
def test_an_unknown_damaris_event_is_one_error_naming_it(name, message):
    with session(SPEC), pytest.raises(pdi.Error) as caught:
        pdi.event(name)
    assert message in str(caught.value)


def test_events_of_other_plugins_pass():
    with session(SPEC):
        pdi.event("main_loop")  # the plugin's example fires it for PDI's other plugins
        pdi.multi_expose("newiter", [("iter", 0, pdi.OUT)])


def test_an_event_without_its_data_names_what_it_takes():
    with session(SPEC), pytest.raises(pdi.Error) as caught:
        pdi.multi_expose("damaris_write", [("w_var_name", "v", pdi.OUT)])
    assert "takes the last 2 data shared (w_var_name, data), but 1 are shared" in str(caught.value)


def test_multi_expose_reclaims_what_it_shared_when_the_event_fails():
    with session(SPEC):
        with pytest.raises(pdi.Error):
            pdi.multi_expose("damaris_wrte", [("a", 1, pdi.OUT), ("b", 2, pdi.OUT)])
        with pytest.raises(pdi.Error, match=r"reclaim of 'a': it is not shared \(nothing"):
            pdi.reclaim("a")


def test_in_access_needs_an_array_and_access_a_known_mode():
    with session(SPEC):
        with pytest.raises(pdi.Error, match="IN and INOUT data must be a NumPy array"):
            pdi.share("x", [1], pdi.INOUT)
        with pytest.raises(pdi.Error, match=r"access 7 is not one of pdi\.IN"):
            pdi.share("x", np.zeros(1), 7)


def test_access_gives_the_shared_array_read_only_unless_out():
    with session(SPEC):
        data = np.arange(3)
        pdi.share("d", data, pdi.OUT)
        view = pdi.access("d", pdi.IN)
        assert view.tolist() == [0, 1, 2] and not view.flags.writeable
        pdi.release("d")
        writable = pdi.access("d", pdi.INOUT)
        writable[0] = 9
        assert data[0] == 9
        pdi.reclaim("d")
        pdi.reclaim("d")
        with pytest.raises(pdi.Error, match="neither shared nor remembered"):
            pdi.access("d", pdi.IN)


def test_a_value_an_expression_reads_is_remembered_after_its_reclaim():
    with session(SPEC):
        pdi.expose("iter", np.int32(0), pdi.OUT)  # `when` of the write entry reads $iter
        assert pdi.access("iter", pdi.IN).item() == 0
        pdi.reclaim("iter")
        pdi.expose("v", np.array([1]), pdi.OUT)  # when '$iter>0' is false: nothing written
