"""The codec between grader and sandbox: plain data and tensors only, and hostile bytes refused."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from convcourse.instructor.sandbox.inside.codec import MAGIC, CodecError, Limits, decode, encode

plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        | st.dictionaries(st.integers(-5, 5), inner, max_size=3)
    ),
    max_leaves=20,
)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(plain)
def test_plain_data_round_trips(value):
    assert _same(decode(encode(value)), value)


@pytest.mark.parametrize(
    "T",
    [
        torch.arange(12.0).reshape(3, 4),
        torch.tensor([[1, -2], [3, 4]], dtype=torch.int64),
        torch.tensor([True, False]),
        torch.ones(2, 3, dtype=torch.bfloat16),
        torch.zeros(0, 5),
        torch.tensor(3.5, dtype=torch.float64),
        torch.arange(20.0).reshape(4, 5)[:, 1:3],  # not contiguous
        torch.randn(3, requires_grad=True) * 2,  # has a grad_fn
    ],
)
def test_tensors_round_trip_as_plain_tensors(T):
    got = decode(encode({"t": T}))["t"]
    assert type(got) is torch.Tensor
    assert got.dtype == T.dtype and got.shape == T.shape
    assert torch.equal(got, T.detach())
    assert not got.requires_grad


def test_numpy_arrays_round_trip():
    A = np.arange(6, dtype=np.int32).reshape(2, 3)
    got = decode(encode([A]))[0]
    assert isinstance(got, np.ndarray) and got.dtype == A.dtype and (got == A).all()


def test_tensor_subclasses_lose_their_behaviour():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    T = torch.ones(2).as_subclass(Liar)
    got = decode(encode(T))
    assert type(got) is torch.Tensor
    assert not torch.equal(got, torch.zeros(2))


@pytest.mark.parametrize(
    "value",
    [object(), lambda: 1, {1, 2}, b"bytes", type("X", (int,), {})(3), [torch.float32, object()]],
)
def test_anything_else_is_refused_when_sending(value):
    with pytest.raises(CodecError):
        encode(value)


def _message(header: dict | list, blob: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return MAGIC + struct.pack("<I", len(head)) + head + blob


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "bad magic"),
        (b"PICKLE" + b"\0" * 10, "bad magic"),
        (MAGIC + struct.pack("<I", 10**9), "header length"),
        (_message({"$t": ["float32", [2, 2], 0, 16]}, b"\0" * 8), "do not match"),
        (_message({"$t": ["object", [1], 0, 8]}, b"\0" * 8), "not allowed"),
        (_message({"$t": ["float32", [-1], 0, 4]}, b"\0" * 4), "shape"),
        (_message({"$t": ["float32", [10**5, 10**5], 0, 4]}), "over the limit"),
        (_message({"$pickle": "gASV"}), "unknown node"),
        (_message({"$dict": [[[1], 2]]}), "unhashable"),
        (MAGIC + struct.pack("<I", 3) + b"{{{", "malformed header"),
    ],
)
def test_hostile_messages_are_refused(data, words):
    with pytest.raises(CodecError, match=words):
        decode(data)


def test_limits_bound_size_depth_and_count():
    deep = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(CodecError, match="nested"):
        decode(encode(deep), Limits(max_depth=32))
    with pytest.raises(CodecError, match="too many"):
        decode(encode(list(range(1000))), Limits(max_nodes=100))
    with pytest.raises(CodecError, match="over the limit"):
        decode(encode("x" * 2000), Limits(max_bytes=1000))
    with pytest.raises(CodecError, match="larger than"):
        encode(torch.zeros(1000), max_bytes=1000)
