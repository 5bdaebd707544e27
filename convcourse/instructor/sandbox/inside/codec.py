"""Safe serialization of plain data and tensors between the grader and a sandboxed submission.

Everything a sandboxed submission sends back is untrusted, so the format is deliberately dumb:
one JSON document (UTF-8) followed by the raw bytes of the tensors it mentions.  No pickle, no
class names that decoding would import, no callables; a decoded message contains only ``None``,
``bool``, ``int``, ``float``, ``str``, ``list``, ``tuple``, ``dict`` and plain ``torch.Tensor`` /
``numpy.ndarray`` objects built here from bytes (never a subclass the sender chose, so an
object whose ``__eq__`` is always true cannot travel).  Decoding checks every size against
:class:`Limits` before allocating anything.

Wire layout of one message::

    b"CVC1" | u32 header length | header JSON | tensor bytes, concatenated

The JSON value tree marks special nodes with one-key objects whose key starts with ``$``:
``{"$t": [dtype, shape, offset, nbytes]}`` (tensor), ``{"$a": [...]}`` (numpy array, same
fields), ``{"$tuple": [...]}`` and ``{"$dict": [[key, value], ...]}`` (a dict whose keys are not
all plain strings, or use ``$``).  This module runs on both sides, so it imports torch and numpy
lazily and has no dependency on the rest of the instructor package.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from dataclasses import dataclass

__all__ = ["MAGIC", "CodecError", "Limits", "encode", "decode", "write_frame", "read_frame"]

MAGIC = b"CVC1"
_U32 = struct.Struct("<I")

# dtype name -> (torch attribute, numpy name or None, item size in bytes)
_DTYPES = {
    "float16": ("float16", "float16", 2),
    "bfloat16": ("bfloat16", None, 2),
    "float32": ("float32", "float32", 4),
    "float64": ("float64", "float64", 8),
    "complex64": ("complex64", "complex64", 8),
    "complex128": ("complex128", "complex128", 16),
    "int8": ("int8", "int8", 1),
    "uint8": ("uint8", "uint8", 1),
    "int16": ("int16", "int16", 2),
    "int32": ("int32", "int32", 4),
    "int64": ("int64", "int64", 8),
    "bool": ("bool", "bool", 1),
}


class CodecError(ValueError):
    """A message could not be encoded, or a received message is malformed or too large."""


@dataclass(frozen=True)
class Limits:
    """Upper bounds a decoded message must respect (defaults suit grading observations)."""

    max_bytes: int = 64 * 2**20  # whole message
    max_header: int = 8 * 2**20  # JSON part
    max_nodes: int = 200_000  # values in the tree
    max_depth: int = 32
    max_string: int = 1 * 2**20  # characters in one string
    max_tensor_elements: int = 16 * 2**20
    max_ndim: int = 8


# ----------------------------------------------------------------------------------- encoding


def encode(value, *, max_bytes: int = 64 * 2**20) -> bytes:
    """Serialize ``value`` (plain data and CPU tensors); raise CodecError for anything else."""
    blobs: list[bytes] = []
    size = [0]

    def tensor_node(kind: str, dtype_name: str, shape, raw: bytes) -> dict:
        offset = size[0]
        size[0] += len(raw)
        if size[0] > max_bytes:
            raise CodecError(f"message larger than {max_bytes} bytes")
        blobs.append(raw)
        return {kind: [dtype_name, [int(s) for s in shape], offset, len(raw)]}

    def walk(v, depth: int):
        if depth > 64:
            raise CodecError("value nested too deeply")
        # Exact type checks on purpose: a subclass of int/str/... could carry behaviour.
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            return v
        if t is float:
            return v
        if t is list:
            return [walk(x, depth + 1) for x in v]
        if t is tuple:
            return {"$tuple": [walk(x, depth + 1) for x in v]}
        if t is dict:
            if all(type(k) is str and not k.startswith("$") for k in v):
                return {k: walk(x, depth + 1) for k, x in v.items()}
            return {"$dict": [[walk(k, depth + 1), walk(x, depth + 1)] for k, x in v.items()]}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(v, torch.Tensor):  # subclasses too: sent as data
            return tensor_node("$t", *_tensor_bytes(v))
        mod = getattr(t, "__module__", "") or ""
        if mod.startswith("torch"):
            if isinstance(v, torch.Size):
                return {"$tuple": [int(x) for x in v]}
            if isinstance(v, torch.dtype):
                return str(v)
        if mod == "numpy":
            import numpy as np

            if isinstance(v, np.ndarray):
                return tensor_node("$a", *_array_bytes(v))
            if isinstance(v, np.generic):
                return walk(v.item(), depth)
        raise CodecError(f"cannot send a value of type {t.__name__}")

    tree = walk(value, 0)
    header = json.dumps(tree, allow_nan=True, ensure_ascii=False, separators=(",", ":"))
    try:
        head = header.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a student printed one): JSON escapes it
        head = json.dumps(tree, allow_nan=True, separators=(",", ":")).encode("ascii")
    out = b"".join([MAGIC, _U32.pack(len(head)), head, *blobs])
    if len(out) > max_bytes:
        raise CodecError(f"message larger than {max_bytes} bytes")
    return out


def _tensor_bytes(T):
    import torch

    # Work on a plain tensor: ``Tensor.detach`` etc. of a subclass could run the sender's code,
    # so call the base-class methods explicitly.
    base = torch.Tensor
    # Plain-tensor methods only: no __torch_function__ of a subclass runs here.
    with torch._C.DisableTorchFunctionSubclass():
        if T.layout != torch.strided:
            raise CodecError(f"cannot send a {T.layout} tensor")
        X = base.contiguous(base.cpu(base.detach(T))).as_subclass(torch.Tensor)
    name = str(X.dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise CodecError(f"cannot send a tensor of dtype {name}")
    if X.is_conj():
        X = X.resolve_conj()
    raw = X.reshape(-1).view(torch.uint8).numpy().tobytes() if X.numel() else b""
    return name, tuple(X.shape), raw


def _array_bytes(A):
    import numpy as np

    name = str(A.dtype)
    if name not in _DTYPES or _DTYPES[name][1] is None:
        raise CodecError(f"cannot send a numpy array of dtype {name}")
    return name, A.shape, np.ascontiguousarray(A).tobytes()


# ----------------------------------------------------------------------------------- decoding


def decode(data: bytes, limits: Limits | None = None):
    """Parse a message made by :func:`encode`, enforcing ``limits``; raise CodecError."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise CodecError(f"message of {len(data)} bytes is over the limit of {limits.max_bytes}")
    if len(data) < 8 or data[:4] != MAGIC:
        raise CodecError("not a grader message (bad magic)")
    (hlen,) = _U32.unpack_from(data, 4)
    if hlen > limits.max_header or 8 + hlen > len(data):
        raise CodecError("header length out of range")
    try:
        tree = json.loads(data[8 : 8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CodecError(f"malformed header: {exc}") from None
    blob = memoryview(data)[8 + hlen :]
    count = [0]

    def walk(v, depth: int):
        count[0] += 1
        if count[0] > limits.max_nodes:
            raise CodecError("too many values")
        if depth > limits.max_depth:
            raise CodecError("value nested too deeply")
        t = type(v)
        if v is None or t in (bool, int):
            return v
        if t is float:
            return v
        if t is str:
            if len(v) > limits.max_string:
                raise CodecError("string too long")
            return v
        if t is list:
            return [walk(x, depth + 1) for x in v]
        if t is dict:
            if len(v) == 1:
                ((key, body),) = v.items()
                if key == "$tuple":
                    if type(body) is not list:
                        raise CodecError("bad tuple node")
                    return tuple(walk(x, depth + 1) for x in body)
                if key == "$dict":
                    if type(body) is not list:
                        raise CodecError("bad dict node")
                    out = {}
                    for pair in body:
                        if type(pair) is not list or len(pair) != 2:
                            raise CodecError("bad dict entry")
                        k = walk(pair[0], depth + 1)
                        try:
                            hash(k)
                        except TypeError:
                            raise CodecError("unhashable dict key") from None
                        out[k] = walk(pair[1], depth + 1)
                    return out
                if key in ("$t", "$a"):
                    return _array_node(key, body, blob, limits)
            for k in v:
                if k.startswith("$"):
                    raise CodecError(f"unknown node {k!r}")
            return {k: walk(x, depth + 1) for k, x in v.items()}
        raise CodecError(f"unexpected JSON value of type {t.__name__}")

    return walk(tree, 0)


def _array_node(kind: str, body, blob: memoryview, limits: Limits):
    if type(body) is not list or len(body) != 4:
        raise CodecError("bad tensor node")
    dtype_name, shape, offset, nbytes = body
    if dtype_name not in _DTYPES:
        raise CodecError(f"dtype {dtype_name!r} not allowed")
    if type(shape) is not list or len(shape) > limits.max_ndim:
        raise CodecError("bad tensor shape")
    if not all(type(s) is int and 0 <= s for s in shape):
        raise CodecError("bad tensor shape")
    numel = math.prod(shape)
    if numel > limits.max_tensor_elements:
        raise CodecError(f"tensor of {numel} elements is over the limit")
    torch_name, np_name, itemsize = _DTYPES[dtype_name]
    if type(offset) is not int or type(nbytes) is not int or offset < 0:
        raise CodecError("bad tensor offset")
    if nbytes != numel * itemsize or offset + nbytes > len(blob):
        raise CodecError("tensor bytes do not match its shape")
    raw = bytes(blob[offset : offset + nbytes])
    if kind == "$a":
        import numpy as np

        if np_name is None:
            raise CodecError("bad numpy dtype")
        return np.frombuffer(raw, dtype=np_name).reshape(shape).copy()
    import torch

    dtype = getattr(torch, torch_name)
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()


# ------------------------------------------------------------------------------------ framing


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed frame to the file descriptor ``fd`` (all of it)."""
    import os

    data = _U32.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_frame(read_exact, max_bytes: int) -> bytes | None:
    """Read one frame with ``read_exact(n) -> bytes`` (b"" at end of stream); None at its end."""
    head = read_exact(4)
    if not head:
        return None
    if len(head) < 4:
        raise CodecError("stream ended inside a frame header")
    (n,) = _U32.unpack(head)
    if n > max_bytes:
        raise CodecError(f"frame of {n} bytes is over the limit of {max_bytes}")
    body = read_exact(n)
    if len(body) < n:
        raise CodecError("stream ended inside a frame")
    return body
