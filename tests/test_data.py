"""Block names, type strings, the DamarisData layout and reassembly by offsets (spec §2–§3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from damaris_ref.core import data
from damaris_ref.core.data import Block, ReassemblyError, reassemble

#: spec §2: config type name -> (NumPy dtype, DamarisData type_string)
SPEC_TYPES = {
    "int": (np.int32, "_int"),
    "integer": (np.int32, "_int"),
    "float": (np.float32, "_float"),
    "real": (np.float32, "_float"),
    "double": (np.float64, "_double"),
    "long": (np.int64, "_longint"),
    "short": (np.int16, "_short"),
    "char": (np.int8, "_char"),
    "character": (np.int8, "_char"),
}


def block(source: int, number: int, offsets=(0,), iteration: int = 3) -> Block:
    """A small int32 block whose values name its source and block number."""
    values = np.full((2,), 10 * source + number, dtype=np.int32)
    return Block("v", source, number, iteration, tuple(offsets), values)


# types --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SPEC_TYPES))
def test_every_spec_type_maps_to_its_dtype_and_type_string(name):
    dtype, type_string = SPEC_TYPES[name]
    assert data.dtype_of(name) == np.dtype(dtype)
    assert data.type_string_of(name) == type_string


@pytest.mark.parametrize("name", ["INT", "Double", "cHaRaCtEr", "Long"])
def test_type_names_are_case_insensitive(name):
    dtype, type_string = SPEC_TYPES[name.lower()]
    assert data.dtype_of(name) == np.dtype(dtype)
    assert data.type_string_of(name) == type_string


@pytest.mark.parametrize("lookup", [data.dtype_of, data.type_string_of])
def test_unknown_type_is_a_clear_error_listing_valid_ones(lookup):
    with pytest.raises(ValueError, match=r"unknown type 'quad'.*int.*double.*char"):
        lookup("quad")


def test_type_names_cover_exactly_the_spec_types():
    assert set(data.TYPE_NAMES) == set(SPEC_TYPES)


# names --------------------------------------------------------------------------------------
def test_block_key_and_iteration_tag_formats():
    assert data.block_key(3, 0) == "P3_B0"
    assert data.block_key(12, 7) == "P12_B7"
    assert data.iteration_tag(1, 42, "17000001234") == "S1_I42_17000001234"
    assert block(5, 2).key == "P5_B2"


# variable entries ---------------------------------------------------------------------------
def test_variable_entry_arrays_are_read_only_views():
    original = block(0, 0)
    entry = data.variable_entry([original], server=0, magic="7", type_string="_int")
    array = entry["numpy_data"]["P0_B0"]
    assert np.shares_memory(array, original.data)
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 99
    assert original.data.flags.writeable  # only the view is locked


@given(st.permutations([(s, b) for s in range(3) for b in range(2)]))
def test_variable_entry_is_ordered_by_source_then_block_whatever_the_arrival(arrival):
    blocks = [block(s, b, offsets=(2 * (2 * s + b),)) for s, b in arrival]
    entry = data.variable_entry(blocks, server=4, magic="99", type_string="_int")
    expected = [f"P{s}_B{b}" for s in range(3) for b in range(2)]
    assert list(entry["numpy_data"]) == expected
    assert [key for _, key, _ in entry["sort_list"]] == expected


def test_sort_list_fields_are_tag_key_and_offsets_list():
    entry = data.variable_entry(
        [block(2, 1, offsets=(4,), iteration=6)], server=1, magic="555", type_string="_double"
    )
    assert entry["sort_list"] == [["S1_I6_555", "P2_B1", [4]]]
    assert entry["type_string"] == "_double"
    assert set(entry) == {"numpy_data", "sort_list", "type_string"}


def test_iteration_data_holds_iteration_and_one_entry_per_variable():
    result = data.iteration_data(
        2, {"v": [block(0, 0, iteration=2)]}, server=0, magic="1", type_strings={"v": "_int"}
    )
    assert result["iteration"] == 2
    assert set(result) == {"iteration", "v"}
    assert result["v"]["sort_list"][0][0] == "S0_I2_1"


def test_damaris_data_has_exactly_the_three_top_level_keys():
    built = data.damaris_data({"a": 1}, {"b": 2}, {"iteration": 0})
    assert list(built) == ["dask_env", "damaris_env", "iteration_data"]  # upstream's order
    assert tuple(built) == data.DAMARIS_DATA_KEYS
    assert built["iteration_data"] == {"iteration": 0}


# reassembly ---------------------------------------------------------------------------------
@st.composite
def tilings(draw):
    """A box (1-3 dims, origin anywhere) cut by random guillotine splits into blocks."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    origin = tuple(draw(st.lists(st.integers(0, 20), min_size=ndim, max_size=ndim)))
    boxes, pending = [], [(origin, shape)]
    while pending:
        low, size = pending.pop()
        splittable = [d for d in range(ndim) if size[d] > 1]
        if not splittable or len(boxes) + len(pending) >= 12 or not draw(st.booleans()):
            boxes.append((low, size))
            continue
        d = draw(st.sampled_from(splittable))
        cut = draw(st.integers(1, size[d] - 1))
        pending.append((low, (*size[:d], cut, *size[d + 1 :])))
        upper = (*low[:d], low[d] + cut, *low[d + 1 :])
        pending.append((upper, (*size[:d], size[d] - cut, *size[d + 1 :])))
    order = draw(st.permutations(range(len(boxes))))
    return origin, shape, [boxes[i] for i in order]


@given(tilings())
def test_reassemble_rebuilds_any_tiling_in_any_arrival_order(tiling):
    origin, shape, boxes = tiling
    expected = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    pieces = []
    for low, size in boxes:
        region = tuple(
            slice(lo - o, lo - o + n) for lo, o, n in zip(low, origin, size, strict=True)
        )
        pieces.append((low, expected[region].copy()))
    np.testing.assert_array_equal(reassemble(pieces), expected)
    np.testing.assert_array_equal(reassemble(pieces, origin=origin, shape=shape), expected)


def test_reassemble_with_explicit_origin_and_shape_places_blocks_relative_to_origin():
    pieces = [((10, 5), np.ones((1, 2))), ((11, 5), np.zeros((1, 2)))]
    result = reassemble(pieces, origin=(10, 5), shape=(2, 2))
    np.testing.assert_array_equal(result, [[1, 1], [0, 0]])


def test_reassemble_gap_names_the_uncovered_cell():
    pieces = [((0, 0), np.ones((1, 3))), ((2, 0), np.ones((1, 3)))]
    with pytest.raises(ReassemblyError, match=r"gap: cell \[1, 0\]"):
        reassemble(pieces)


def test_reassemble_gap_at_the_edge_of_an_explicit_shape():
    with pytest.raises(ReassemblyError, match=r"gap: cell \[2\]"):
        reassemble([((0,), np.ones(2))], shape=(3,))


def test_reassemble_overlap_names_offsets_and_cell():
    pieces = [((0,), np.ones(3)), ((2,), np.ones(2))]
    with pytest.raises(ReassemblyError, match=r"overlap: block at offsets \[2\].*cell \[2\]"):
        reassemble(pieces)


def test_reassemble_block_outside_the_box_names_its_offsets():
    with pytest.raises(ReassemblyError, match=r"offsets \[4\].*outside the box at \[0\]"):
        reassemble([((0,), np.ones(4)), ((4,), np.ones(2))], shape=(4,))
    with pytest.raises(ReassemblyError, match=r"offsets \[0\].*outside"):
        reassemble([((0,), np.ones(2))], origin=(1,))


@pytest.mark.parametrize(
    "pieces",
    [
        [((0, 0), np.ones((2, 2))), ((2, 0), np.ones(2))],  # array of the wrong ndim
        [((0, 0), np.ones((2, 2))), ((2,), np.ones((2, 2)))],  # too few offsets
    ],
)
def test_reassemble_ndim_mismatch_is_an_error(pieces):
    with pytest.raises(ReassemblyError, match="does not have 2 dimensions"):
        reassemble(pieces)


@pytest.mark.parametrize("box", [{"origin": (0,)}, {"shape": (2,)}, {"shape": (2, 2, 1)}])
def test_reassemble_box_of_another_ndim_than_the_blocks_is_an_error(box):
    with pytest.raises(ReassemblyError, match=r"box (origin|shape) .* does not have 2 dimensions"):
        reassemble([((0, 0), np.ones((2, 2)))], **box)


def test_reassemble_without_blocks_is_an_error():
    with pytest.raises(ReassemblyError, match="no blocks"):
        reassemble([])


def test_reassemble_entry_rebuilds_a_server_part_from_its_sort_list():
    blocks = [
        Block("v", 1, 0, 0, (2, 0), np.full((2, 2), 1.5)),
        Block("v", 0, 0, 0, (0, 0), np.full((2, 2), 0.5)),
    ]
    entry = data.variable_entry(blocks, server=0, magic="1", type_string="_double")
    expected = np.vstack([np.full((2, 2), 0.5), np.full((2, 2), 1.5)])
    np.testing.assert_array_equal(data.reassemble_entry(entry), expected)


def test_parse_block_key_inverts_block_key():
    assert data.parse_block_key(data.block_key(12, 3)) == (12, 3)
    with pytest.raises(ValueError, match="'S1_I0_7' is not a block name"):
        data.parse_block_key("S1_I0_7")
