"""Both codecs round-trip nested data exactly; the safe one refuses to run code or bad data."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dask_espresso as de
from damaris_ref.ensemble import TransportDecodeError, get_codec, set_default_codec
from damaris_ref.ensemble.codecs import CODEC_ENV, default_codec_name
from damaris_ref.ensemble.safe_codec import MAGIC, MAX_NODES

from profiles import examples

pytestmark = pytest.mark.timeout(120)

CODECS = ["pickle", "safe"]

# -- data generators -------------------------------------------------------------------------

ENDIAN = st.sampled_from(["<", ">"])
DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64)),
    hnp.complex_number_dtypes(endianness="?"),
    hnp.datetime64_dtypes(endianness="?"),
    hnp.timedelta64_dtypes(endianness="?"),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
    st.just(np.dtype([("a", "<i4"), ("b", ">f8")])),
)
LAYOUTS = st.sampled_from(["C", "F", "strided"])


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays of many dtypes and shapes, in C order, Fortran order or as strided views."""
    dtype = draw(DTYPES)
    array = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)))
    layout = draw(LAYOUTS)
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "strided" and array.ndim:
        return array[::2]
    return array


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    arrays(),
    arrays().filter(lambda a: a.ndim == 0).map(lambda a: a[()]),  # NumPy scalars
)
KEYS = st.one_of(st.text(max_size=8), st.integers(), st.tuples(st.integers(), st.text(max_size=3)))
HASHABLES = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none())
NESTED = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(KEYS, children, max_size=4),
        st.sets(HASHABLES, max_size=4),
        st.frozensets(HASHABLES, max_size=4),
    ),
    max_leaves=12,
)


def _native(array):
    return array.astype(array.dtype.newbyteorder("="))


def assert_same(expected, actual, path="value"):
    """Exact equality, type included; NaN equals NaN, arrays compared bit for bit."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, np.ndarray | np.generic):
        # pickle stores datetime arrays in native byte order; values must still match bit for bit
        assert _native(actual).dtype == _native(expected).dtype, path
        assert actual.shape == expected.shape, path
        assert _native(actual).tobytes() == _native(expected).tobytes(), path
    elif isinstance(expected, float):
        assert (math.isnan(expected) and math.isnan(actual)) or (
            actual == expected and math.copysign(1, actual) == math.copysign(1, expected)
        ), f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, complex):
        assert_same(expected.real, actual.real, f"{path}.real")
        assert_same(expected.imag, actual.imag, f"{path}.imag")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), path
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same(e, a, f"{path}[{i}]")
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys differ"
        for key in expected:
            assert_same(expected[key], actual[key], f"{path}[{key!r}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CODECS)
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=NESTED)
def test_round_trip_is_exact(name, value):
    codec = get_codec(name)
    text = codec.encode(value)
    assert text.isascii() and "\n" not in text
    assert_same(value, codec.decode(text))


@settings(max_examples=examples(60), deadline=None)
@given(array=arrays())
def test_safe_codec_keeps_dtype_byte_order_and_memory_order(array):
    back = de.decode_transport_data(de.encode_transport_data(array, "safe"), "safe")
    assert back.dtype == array.dtype
    fortran_only = array.flags.f_contiguous and not array.flags.c_contiguous
    assert back.flags.f_contiguous if fortran_only else back.flags.c_contiguous


@pytest.mark.parametrize("name", CODECS)
def test_decoded_arrays_are_writable_copies(name):
    codec = get_codec(name)
    back = codec.decode(codec.encode({"a": np.arange(4.0)}))["a"]
    back[0] = 10.0
    assert back[0] == 10.0


def test_helpers_round_trip_and_stay_upstream_compatible():
    value = {"volume_fraction": 0.3, "n_steps": [1, 2]}
    text = de.encode_transport_data(value)
    assert pickle.loads(base64.b64decode(text)) == value  # what upstream's decoder does
    upstream_text = base64.b64encode(pickle.dumps(value)).decode("utf-8")
    assert de.decode_transport_data(upstream_text) == value


@pytest.mark.parametrize("kind", ["binary-backed", "text-only"])
def test_get_data_from_stdin_reads_the_whole_stream(monkeypatch, kind):
    text = de.encode_transport_data({"x": 1}) + "\n"
    stream = io.TextIOWrapper(io.BytesIO(text.encode())) if kind == "binary-backed" else None
    monkeypatch.setattr(sys, "stdin", stream or io.StringIO(text))
    assert de.get_data_from_stdin() == {"x": 1}


# -- choosing a codec ------------------------------------------------------------------------


def test_default_codec_follows_the_environment():
    assert default_codec_name() == "pickle"
    set_default_codec("safe")  # the conftest fixture restores the variable afterwards
    assert os.environ[CODEC_ENV] == "safe"
    assert default_codec_name() == "safe"
    assert de.encode_transport_data([1]).startswith(base64.b64encode(MAGIC).decode())


def test_unknown_codec_names_the_valid_ones(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown codec 'json'; valid codecs: pickle, safe"):
        set_default_codec("json")
    monkeypatch.setenv(CODEC_ENV, "yaml")
    with pytest.raises(ValueError, match=r"ENSEMBLE_CODEC: invalid value 'yaml'.*pickle, safe"):
        de.encode_transport_data(1)


def test_simulation_side_import_loads_no_heavy_module():
    code = (
        "import sys, dask_espresso as de\n"
        "for codec in ('pickle', 'safe'):\n"
        "    assert de.decode_transport_data(de.encode_transport_data({'a': (1, 2.5)}, codec),"
        " codec) == {'a': (1, 2.5)}\n"
        "print(sorted(m for m in ('dask', 'distributed', 'numpy', 'typing', 'subprocess')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_dask_espresso_task_is_available_lazily():
    from dask.delayed import Delayed

    assert isinstance(de.dask_espresso_task, Delayed)


# -- what the safe codec refuses -------------------------------------------------------------


class _Exploit:
    """Unpickling this creates the file at ``path``: stands for arbitrary code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_safe_codec_refuses_a_malicious_pickle(tmp_path):
    marker = tmp_path / "owned"
    payload = de.encode_transport_data(_Exploit(marker), "pickle")
    with pytest.raises(TransportDecodeError, match="not a safe-codec payload"):
        de.decode_transport_data(payload, "safe")
    assert not marker.exists()
    de.decode_transport_data(payload, "pickle")  # the trusted codec does run it
    assert marker.exists()


def _safe_payload(tree, blocks=()):
    """Hand-build a safe-codec payload, as an attacker could."""
    header = json.dumps({"tree": tree, "blocks": [len(b) for b in blocks]}).encode()
    raw = b"".join([MAGIC, struct.pack("<Q", len(header)), header, *blocks])
    return base64.b64encode(raw).decode()


def test_safe_codec_refuses_an_object_array_block(tmp_path):
    marker = tmp_path / "owned"
    block = io.BytesIO()
    np.save(block, np.array([_Exploit(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(TransportDecodeError, match="object dtype"):
        de.decode_transport_data(_safe_payload({"ndarray": 0}, [block.getvalue()]), "safe")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("tree", "blocks", "message"),
    [
        ({"eval": "print(1)"}, [], "unknown tag 'eval'"),
        ({"tuple": [1], "dict": []}, [], "malformed node"),
        ({"ndarray": 3}, [], "missing block 3"),
        ({"dict": [[[1], 2]]}, [], "unhashable dict key"),
        ({"complex": ["1", 2]}, [], r"\[real, imag\]"),
        ({"bytes": "\u00e9"}, [], "bad bytes"),
        ({"bytes": "AA=A"}, [], "bad bytes"),
    ],
)
def test_safe_codec_rejects_malformed_trees(tree, blocks, message):
    with pytest.raises(TransportDecodeError, match=message):
        de.decode_transport_data(_safe_payload(tree, blocks), "safe")


def test_safe_codec_checks_array_size_before_allocating():
    block = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        block, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    with pytest.raises(TransportDecodeError, match=r"declares shape \(1000000000000,\)"):
        de.decode_transport_data(_safe_payload({"ndarray": 0}, [block.getvalue()]), "safe")


def test_safe_codec_refuses_negative_dimensions():
    block = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        block, {"descr": "<f8", "fortran_order": False, "shape": (-1, -8)}
    )
    payload = _safe_payload({"ndarray": 0}, [block.getvalue() + bytes(64)])
    with pytest.raises(TransportDecodeError, match=r"declares shape \(-1, -8\)"):
        de.decode_transport_data(payload, "safe")


@pytest.mark.parametrize(
    ("depth", "message"),
    [(600, "tree is nested too deeply"), (100_000, "header is malformed")],
    ids=["for-the-decoder", "for-json"],
)
def test_safe_codec_refuses_trees_nested_too_deeply(depth, message):
    header = ('{"blocks": [], "tree": ' + "[" * depth + "]" * depth + "}").encode()
    raw = b"".join([MAGIC, struct.pack("<Q", len(header)), header])
    with pytest.raises(TransportDecodeError, match=message):
        de.decode_transport_data(base64.b64encode(raw).decode(), "safe")


def _npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    block = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        block, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return block.getvalue()


def test_one_block_cannot_be_decoded_many_times():
    """20,000 references to one 8 KB block decoded to 160 MB; a block now counts once."""
    block = _npy_header("<f8", (1024,)) + bytes(8192)
    payload = _safe_payload([{"ndarray": 0}] * 20_000, [block])
    with pytest.raises(TransportDecodeError, match=r"names block 0 again; each block is decoded"):
        de.decode_transport_data(payload, "safe")


def test_the_node_count_is_bounded():
    payload = _safe_payload([[] for _ in range(MAX_NODES + 1)])
    with pytest.raises(TransportDecodeError, match=f"more than {MAX_NODES} nodes"):
        de.decode_transport_data(payload, "safe")


@pytest.mark.parametrize(
    ("tree", "blocks", "message"),
    [
        ({"complex": [10**400, 0]}, [], "complex at value is out of range"),
        ({"ndarray": 0}, [_npy_header("<f8", (0, 2**62))], r"of shape \(0, 4611686018427387904\)"),
        ({"ndarray": 0}, [_npy_header("|V0", (3,))], "of size 0; refused"),
        ({"ndarray": 0}, [_npy_header("|S0", (3,))], "of size 0; refused"),
    ],
    ids=["huge-complex", "zero-by-huge", "void-0", "bytes-0"],
)
def test_crafted_payloads_are_decode_errors_not_raw_exceptions(tree, blocks, message):
    with pytest.raises(TransportDecodeError, match=message):
        de.decode_transport_data(_safe_payload(tree, blocks), "safe")


def test_safe_codec_rejects_truncated_payloads():
    text = de.encode_transport_data({"a": np.arange(10)}, "safe")
    with pytest.raises(TransportDecodeError):
        de.decode_transport_data(text[: len(text) // 2], "safe")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": [1, object()]}, r"value\['a'\]\[1\]"),
        ({"a": np.array([None], dtype=object)}, r"object dtype at value\['a'\]"),
        ([bytearray(b"x")], r"builtins.bytearray at value\[0\]"),
    ],
)
def test_safe_codec_names_what_it_cannot_encode(value, where):
    with pytest.raises(TypeError, match=where):
        de.encode_transport_data(value, "safe")


def test_pickle_codec_rejects_text_that_is_not_a_pickle():
    with pytest.raises(TransportDecodeError):
        de.decode_transport_data("this is not base64!", "pickle")
    for raw in (b"plain bytes", b"ends like a pickle."):
        with pytest.raises(TransportDecodeError, match="does not hold a pickle"):
            de.decode_transport_data(base64.b64encode(raw).decode(), "pickle")
