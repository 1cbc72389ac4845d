"""The client API's checks and what it sends through its transport (spec §2–§3)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pytest

from damaris_ref.core.config.model import Architecture, Config, Layout, Parameter, Variable
from damaris_ref.core.data import Block
from damaris_ref.core.topology import compute_topology
from damaris_ref.runtime.client import (
    Client,
    ClientError,
    UnknownParameterError,
    UnknownVariableError,
)
from damaris_ref.runtime.transport.base import BufferFullError


@dataclass
class RecordingTransport:
    """A ClientTransport that records every call as a tuple."""

    calls: list[tuple] = field(default_factory=list)

    def send_block(self, server: int, block: Block) -> None:
        self.calls.append(("block", server, block))

    def send_blocks(
        self, server: int, variable: str, source: int, iteration: int, parts: list
    ) -> None:
        blocks = [
            Block(variable, source, block, iteration, offsets, array)
            for block, offsets, array in parts
        ]
        self.calls.append(("blocks", server, blocks))

    def send_end_iteration(self, server: int, source: int, iteration: int) -> None:
        self.calls.append(("end", server, source, iteration))

    def send_stop(self, server: int, source: int) -> None:
        self.calls.append(("stop", server, source))

    @property
    def blocks(self) -> list[Block]:
        """Every block sent, by write_block or write_blocks, in order."""
        sent: list[Block] = []
        for call in self.calls:
            if call[0] == "block":
                sent.append(call[2])
            elif call[0] == "blocks":
                sent.extend(call[2])
        return sent


CONFIG = Config(
    "client-test",
    Architecture(domains=2, dedicated_cores=2),
    parameters=(Parameter("rows", "int", 4), Parameter("cols", "int", 3)),
    layouts=(
        Layout("grid", "int", ("rows", "cols")),
        Layout("flat", "double", ("rows*cols",)),
    ),
    variables=(
        Variable("field", "grid", script="s"),
        Variable("mesh", "flat", time_varying=False, script="s"),
    ),
)


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def client(transport) -> Client:
    """Client 3 of a 6-rank node with 2 dedicated cores: its server is 1."""
    topology = compute_topology([0] * 6, dedicated_cores=2)
    return Client(CONFIG, topology, 3, transport)


def grid(value: int = 1, dtype=np.int32, shape=(4, 3)) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


# parameters and layouts ---------------------------------------------------------------------
def test_parameters_start_at_their_config_values_and_can_be_changed(client):
    assert client.parameter_get("rows") == 4
    client.parameter_set("rows", 7)
    assert client.parameter_get("rows") == 7


@pytest.mark.parametrize(
    "call", [lambda c: c.parameter_get("nope"), lambda c: c.parameter_set("nope", 1)]
)
def test_unknown_parameter_error_lists_the_known_ones(client, call):
    """A specific type, so that simulations can go on as upstream's C examples do."""
    with pytest.raises(UnknownParameterError, match=r"unknown parameter 'nope'.*rows, cols") as e:
        call(client)
    assert isinstance(e.value, ClientError) and e.value.name == "nope"


def test_layout_is_reevaluated_after_parameter_set(client, transport):
    assert client.variable_shape("field") == (4, 3)
    assert client.variable_shape("mesh") == (12,)
    client.parameter_set("rows", 2)
    assert client.variable_shape("field") == (2, 3)
    assert client.variable_shape("mesh") == (6,)
    client.write("field", grid(shape=(2, 3)))
    assert transport.blocks[0].data.shape == (2, 3)


def test_a_write_after_parameter_set_is_checked_against_the_new_shape(client, transport):
    client.write("field", grid(shape=(4, 3)))
    client.end_iteration()
    client.parameter_set("rows", 2)
    with pytest.raises(ClientError, match=r"got 12 element\(s\).*needs shape \(2, 3\)"):
        client.write("field", grid(shape=(4, 3)))
    client.write("field", grid(shape=(2, 3)))
    assert [b.data.shape for b in transport.blocks] == [(4, 3), (2, 3)]


@pytest.mark.parametrize(
    ("name", "value", "fragments"),
    [
        (
            "cols",
            0,
            ["layout 'grid'", "variable(s) 'field'", "dimension 'cols' is 0 (with cols=0)"],
        ),
        ("rows", -2, ["layout 'grid'", "'rows' is -2 (with rows=-2)", "> 0"]),
        (
            "rows",
            2**31,
            ["value 2147483648 overflows type 'int' (int32)", "-2147483648..2147483647"],
        ),
        (
            "rows",
            2**40,
            ["value 1099511627776 overflows type 'int'", "the value was not set"],
        ),
        (
            "cols",
            2**25,
            [
                "layout 'grid'",
                "a block of 4 x 33554432 'int' elements is 536870912 bytes",
                "buffer",
            ],
        ),
    ],
)
def test_parameter_set_refuses_a_value_that_breaks_a_layout_or_overflows_its_type(
    client, name, value, fragments
):
    """Taken unchecked, the value would make the run fail later, at some write, with no
    parameter named (or an int32 parameter would silently hold 2**40)."""
    old = client.parameter_get(name)
    with pytest.raises(ClientError) as caught:
        client.parameter_set(name, value)
    message = str(caught.value)
    assert message.startswith(f"parameter_set({name!r}, {value})"), message
    for fragment in fragments:
        assert fragment in message, message
    assert "the value was not set" in message
    assert client.parameter_get(name) == old
    assert client.variable_shape("field") == (4, 3)


def test_parameter_set_names_a_division_by_zero_it_would_cause(transport):
    config = dataclasses.replace(
        CONFIG, layouts=(*CONFIG.layouts[:1], Layout("flat", "double", ("rows/(cols-3)+1",)))
    )
    client = Client(config, compute_topology([0] * 6, dedicated_cores=2), 3, transport)
    with pytest.raises(ClientError, match=r"'rows/\(cols-3\)\+1' divides by zero \(with cols=3"):
        client.variable_shape("mesh")
    client.parameter_set("cols", 4)
    assert client.variable_shape("mesh") == (5,)
    with pytest.raises(
        ClientError,
        match=r"parameter_set\('cols', 3\) would make layout 'flat' \(of variable\(s\) 'mesh'\)"
        r" invalid: dimensions: .*divides by zero",
    ):
        client.parameter_set("cols", 3)


# writes -------------------------------------------------------------------------------------
def test_write_sends_a_block_to_the_owning_server_with_its_position(client, transport):
    client.set_block_position("field", 1, (8, 0))
    client.write_block("field", 1, grid(5))
    client.write("field", grid(6))
    (_, server, positioned), (_, _, default) = transport.calls
    assert server == 1
    assert (positioned.variable, positioned.source, positioned.block) == ("field", 3, 1)
    assert (positioned.iteration, positioned.offsets) == (0, (8, 0))
    assert default.offsets == (0, 0)  # default position: all zeros
    np.testing.assert_array_equal(positioned.data, grid(5))


@pytest.mark.parametrize(
    "call", [lambda c: c.write("ghost", grid()), lambda c: c.set_position("ghost", (0, 0))]
)
def test_unknown_variable_is_a_client_error_of_its_own_type(client, call):
    with pytest.raises(UnknownVariableError, match="no variable named 'ghost'") as caught:
        call(client)
    assert isinstance(caught.value, ClientError) and caught.value.name == "ghost"


@pytest.mark.parametrize("number", [-1, 2])
def test_block_out_of_range_names_domains(client, number):
    with pytest.raises(ClientError, match=r"block .* out of range: architecture.domains is 2"):
        client.write_block("field", number, grid())
    with pytest.raises(ClientError, match=r"architecture\.domains"):
        client.set_block_position("field", number, (0, 0))


def test_wrong_element_count_names_the_needed_shape(client):
    with pytest.raises(ClientError, match=r"got 6 element\(s\).*needs shape \(4, 3\)"):
        client.write("field", grid(shape=(2, 3)))


def test_same_element_count_in_another_shape_is_reshaped(client, transport):
    client.write("field", np.arange(12, dtype=np.int32))
    assert transport.blocks[0].data.shape == (4, 3)


def test_float_written_to_an_int_layout_is_rejected(client, transport):
    with pytest.raises(ClientError, match="dtype float64 cannot be stored as int32"):
        client.write("field", grid(dtype=np.float64))
    assert transport.calls == []


def test_compatible_dtype_is_cast_to_the_layout_type(client, transport):
    client.write("field", grid(7, dtype=np.int16))
    sent = transport.blocks[0].data
    assert sent.dtype == np.int32
    np.testing.assert_array_equal(sent, grid(7))


def test_same_block_twice_in_one_iteration_is_an_error(client, transport):
    client.write_block("field", 1, grid())
    with pytest.raises(ClientError, match="block 1 of variable 'field' was already written"):
        client.write_block("field", 1, grid())
    client.end_iteration()
    client.write_block("field", 1, grid())  # a new iteration accepts it again
    assert [b.iteration for b in transport.blocks] == [0, 1]


def test_non_time_varying_variable_is_only_sent_at_iteration_zero(client, transport):
    for _ in range(3):
        client.write("mesh", np.zeros(12))
        client.write("field", grid())
        client.end_iteration()
    sent = [(b.variable, b.iteration) for b in transport.blocks]
    assert sent == [("mesh", 0), ("field", 0), ("field", 1), ("field", 2)]


def test_offsets_count_must_match_the_layout_dimensions(client):
    with pytest.raises(ClientError, match=r"3 offset\(s\) given, the layout has 2"):
        client.set_position("field", (0, 0, 0))
    with pytest.raises(ClientError, match=r"2 offset\(s\) given, the layout has 1"):
        client.set_position("mesh", (0, 0))


# iterations and stop ------------------------------------------------------------------------
def test_end_iteration_and_stop_notify_the_server(client, transport):
    client.end_iteration()
    client.end_iteration()
    client.stop()
    assert transport.calls == [("end", 1, 3, 0), ("end", 1, 3, 1), ("stop", 1, 3)]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.write("field", grid()),
        lambda c: c.write_block("field", 1, grid()),
        lambda c: c.end_iteration(),
        lambda c: c.stop(),
    ],
    ids=["write", "write_block", "end_iteration", "stop"],
)
def test_calls_after_stop_are_errors(client, transport, call):
    client.stop()
    with pytest.raises(ClientError, match="already called stop"):
        call(client)
    assert transport.calls == [("stop", 1, 3)]


def test_integer_values_that_do_not_fit_the_layout_type_are_rejected(client, transport):
    """int64 is the same kind as an int32 layout, but values out of range must not wrap."""
    values = grid(1, dtype=np.int64)
    values[0, 0] = 2**31
    with pytest.raises(ClientError, match=r"values 1\.\.2147483648 do not fit int32"):
        client.write("field", values)
    assert transport.blocks == []
    client.write("field", grid(7, dtype=np.int64))  # in range: cast and sent
    assert transport.blocks[0].data.dtype == np.int32


# casts and positions that would lose or misplace data ---------------------------------------
def double_client(transport, global_dims=None) -> Client:
    """A client of a config whose one variable is a (rows, cols) double or float grid."""
    layouts = (
        Layout("d", "double", ("rows", "cols"), global_dims),
        Layout("f", "float", ("rows", "cols"), global_dims),
    )
    config = dataclasses.replace(
        CONFIG, layouts=layouts, variables=(Variable("d", "d"), Variable("f", "f"))
    )
    return Client(config, compute_topology([0] * 6, dedicated_cores=2), 3, transport)


@pytest.mark.parametrize(
    ("variable", "dtype", "value", "becomes"),
    [
        ("d", np.int64, 2**53 + 1, "9007199254740992.0"),  # NumPy calls this cast 'safe'
        ("f", np.float64, 1e300, "inf"),
        ("f", np.float64, 0.1, "0.10000000149011612"),
    ],
)
def test_a_cast_that_changes_a_value_is_refused_naming_both_dtypes(
    transport, variable, dtype, value, becomes
):
    client = double_client(transport)
    values = grid(1, dtype=dtype)
    values[2, 1] = value
    with pytest.raises(ClientError, match=f"storing dtype {np.dtype(dtype)} as") as caught:
        client.write(variable, values)
    assert f"element 7: {value!r} becomes {becomes}" in str(caught.value)
    assert transport.blocks == []


@pytest.mark.parametrize(
    ("variable", "dtype", "value"),
    [("d", np.int64, 2**53), ("f", np.float64, 0.5), ("d", np.int32, -(2**31)), ("f", np.int16, 7)],
)
def test_a_narrowing_cast_that_keeps_every_value_is_accepted(transport, variable, dtype, value):
    client = double_client(transport)
    values = grid(1, dtype=dtype)
    values[0, 0] = value
    client.write(variable, values)
    (block,) = transport.blocks
    assert block.data[0, 0] == value and block.data.dtype == ("f8" if variable == "d" else "f4")


def test_negative_offsets_are_refused(client):
    with pytest.raises(ClientError, match=r"offsets \[-1, 0\] must all be >= 0"):
        client.set_position("field", (-1, 0))


def test_a_block_reaching_past_the_global_array_is_refused(transport):
    client = double_client(transport, global_dims=("rows*2", "cols"))
    client.set_position("d", (4, 0))  # rows 4..7 of 8: inside
    client.write("d", grid(1, dtype=np.float64))
    client.set_position("f", (5, 0))  # rows 5..8 of 8: one row past the end
    with pytest.raises(
        ClientError, match=r"offsets \[5, 0\] reaches past the global array \[8, 3\]"
    ):
        client.write("f", grid(1, dtype=np.float32))
    assert len(transport.blocks) == 1


# the write plan each variable keeps between writes -------------------------------------------
def test_a_position_moved_past_the_global_array_after_a_write_is_refused(transport):
    """The global bounds check is cached per block only until its position changes."""
    client = double_client(transport, global_dims=("rows*2", "cols"))
    client.set_position("d", (4, 0))
    client.write("d", grid(1, dtype=np.float64))
    client.end_iteration()
    client.set_position("d", (5, 0))
    with pytest.raises(ClientError, match=r"offsets \[5, 0\] reaches past the global array"):
        client.write("d", grid(1, dtype=np.float64))


def test_setting_the_same_position_again_keeps_it_and_a_new_one_is_checked(transport):
    """A block placed where it already is skips the checks; any other position is checked."""
    client = double_client(transport, global_dims=("rows*2", "cols"))
    client.set_position("d", (4, 0))
    client.set_position("d", (4, 0))
    client.write("d", grid(1, dtype=np.float64))
    with pytest.raises(ClientError, match=r"3 offset\(s\) given, the layout has 2"):
        client.set_position("d", (4, 0, 0))
    with pytest.raises(ClientError, match=r"offsets \[-4, 0\] must all be >= 0"):
        client.set_position("d", (-4, 0))
    domains = client.config.architecture.domains
    with pytest.raises(ClientError, match=f"block {domains} of variable 'd' is out of range"):
        client.set_block_position("d", domains, (4, 0))
    assert transport.blocks[0].offsets == (4, 0)


def test_a_parameter_set_renews_the_global_bounds_and_the_block_shape(transport):
    """A write checked against the old values is checked again after ``parameter_set``."""
    client = double_client(transport, global_dims=("rows*2", "cols"))
    client.set_position("d", (4, 0))
    client.write("d", grid(1, dtype=np.float64))
    client.end_iteration()
    client.parameter_set("rows", 3)  # blocks of 3 rows in a global array of 6: 4..6 is past it
    with pytest.raises(ClientError, match=r"shape \[3, 3\] at offsets \[4, 0\] reaches past"):
        client.write("d", grid(1, dtype=np.float64, shape=(3, 3)))
    client.end_iteration()
    with pytest.raises(ClientError, match=r"needs shape \(3, 3\)"):
        client.write("d", grid(1, dtype=np.float64))


def test_an_array_of_the_exact_dtype_and_shape_is_sent_as_it_is(client, transport):
    """No conversion when nothing needs converting; the transport copies it."""
    values = grid(5)
    client.write("field", values)
    (block,) = transport.blocks
    assert block.data is values


# many blocks in one call --------------------------------------------------------------------
def many_client(transport, domains: int = 6, global_dims=None) -> Client:
    """Client 3 (server 1) of a config whose 'field' has ``domains`` blocks of (4, 3) ints."""
    config = dataclasses.replace(
        CONFIG,
        architecture=Architecture(domains=domains, dedicated_cores=2),
        layouts=(Layout("grid", "int", ("rows", "cols"), global_dims), CONFIG.layouts[1]),
    )
    return Client(config, compute_topology([0] * 6, dedicated_cores=2), 3, transport)


def sent(transport) -> list[tuple]:
    return [
        (b.variable, b.block, b.iteration, b.offsets, b.data.tolist()) for b in transport.blocks
    ]


@pytest.mark.parametrize("form", [dict, list, iter], ids=["mapping", "pairs", "iterator"])
def test_write_blocks_sends_what_the_same_write_block_calls_send_in_one_call(transport, form):
    one_by_one = many_client(RecordingTransport())
    batched = many_client(transport)
    blocks = [(4, grid(4)), (0, np.arange(12, dtype=np.int16)), (2, [[2] * 3] * 4)]
    for client in (one_by_one, batched):
        client.set_block_position("field", 4, (8, 3))
        client.set_block_position("field", 2, (4, 0))
    for block, array in blocks:
        one_by_one.write_block("field", block, array)
    batched.write_blocks("field", form(blocks))
    assert sent(transport) == sent(one_by_one.transport)
    assert [call[:2] for call in transport.calls] == [("blocks", 1)]  # one call to the server
    assert all(b.data.dtype == np.int32 and b.data.shape == (4, 3) for b in transport.blocks)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ((6, grid()), r"block 6 of variable 'field' is out of range: .* valid blocks are 0\.\.5"),
        ((1, grid()), r"block 1 is written twice in this call"),
        ((3, grid(shape=(2, 3))), r"block 3: .*got 6 element\(s\).*needs shape \(4, 3\)"),
        ((3, grid(dtype=np.float64)), r"block 3: .*dtype float64 cannot be stored as int32"),
        ((3, 4, grid()), r"item 2 is a tuple of 3 item\(s\), not a \(block, array\) pair"),
        (None, r"item 2 is a NoneType, not a \(block, array\) pair"),
    ],
    ids=["out-of-range", "twice", "shape", "dtype", "triple", "not-a-pair"],
)
def test_a_refused_block_names_variable_and_block_and_writes_nothing_of_the_call(
    transport, bad, message
):
    client = many_client(transport)
    with pytest.raises(ClientError, match=message) as raised:
        client.write_blocks("field", [(0, grid()), (1, grid()), bad])
    assert str(raised.value).startswith("write_blocks('field'): ")
    assert str(raised.value).endswith("; no block of this call was written")
    assert transport.calls == []
    client.write_block("field", 0, grid())  # not marked written either
    client.write_block("field", 1, grid())


def test_a_block_written_earlier_in_the_iteration_is_refused_by_write_blocks(transport):
    client = many_client(transport)
    client.write_block("field", 2, grid())
    with pytest.raises(ClientError, match=r"block 2 is written earlier in this iteration"):
        client.write_blocks("field", {1: grid(), 2: grid()})
    client.write_block("field", 1, grid())
    assert [b.block for b in transport.blocks] == [2, 1]


def test_write_blocks_refuses_a_block_placed_past_the_global_array(transport):
    client = many_client(transport, global_dims=("rows*2", "cols"))
    client.set_block_position("field", 5, (8, 0))
    with pytest.raises(ClientError, match=r"block 5: a block of shape \[4, 3\] .* reaches past"):
        client.write_blocks("field", {0: grid(), 5: grid()})
    assert transport.calls == []


def test_write_blocks_of_a_static_variable_sends_only_at_iteration_zero(transport):
    client = many_client(transport)
    for _ in range(2):
        client.write_blocks("mesh", {0: np.zeros(12), 1: np.ones(12)})
        client.end_iteration()
    assert [(b.variable, b.block, b.iteration) for b in transport.blocks] == [
        ("mesh", 0, 0),
        ("mesh", 1, 0),
    ]
    client.write_blocks("mesh", {0: np.zeros(12)})
    with pytest.raises(ClientError, match="block 0 is written earlier"):  # still checked
        client.write_blocks("mesh", {0: np.zeros(12)})


def test_write_blocks_with_no_block_sends_nothing_but_still_checks_the_variable(transport):
    client = many_client(transport)
    client.write_blocks("field", {})
    assert transport.calls == []
    with pytest.raises(UnknownVariableError, match="no variable named 'ghost'"):
        client.write_blocks("ghost", {})
    client.stop()
    with pytest.raises(ClientError, match=r"already called stop\(\)"):
        client.write_blocks("field", {0: grid()})


def test_a_batch_the_transport_cannot_hold_leaves_its_blocks_unwritten():
    class FullTransport(RecordingTransport):
        def send_blocks(self, *args) -> None:
            raise BufferFullError("buffer 'buffer' ... cannot hold")

    client = many_client(FullTransport())
    with pytest.raises(BufferFullError):
        client.write_blocks("field", {0: grid(), 1: grid()})
    client.transport = RecordingTransport()
    client.write_blocks("field", {0: grid(), 1: grid()})  # not marked written by the failure
    assert [b.block for b in client.transport.blocks] == [0, 1]
