"""Student answers to lesson 1's ``conv1x1(X, W, b)``: correct ones in several styles and
deliberately wrong ones, each labelled with the misconception the check must name.

Nothing here comes from convcourse (the rule "shipped" would flag it)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _dtype(*tensors):
    dtype = torch.float32
    for T in tensors:
        dtype = torch.promote_types(dtype, T.dtype)
    return dtype


# ---------------------------------------------------------------------------------------------
# Correct answers


def conv1x1_einsum(X, W, b):
    """One einsum over the channel axis."""
    dtype = _dtype(X, W, b)
    return torch.einsum("dc,chw->dhw", W.to(dtype), X.to(dtype)) + b.to(dtype)[:, None, None]


def conv1x1_matmul(X, W, b):
    """Pixels as columns of a (c_i, n_h * n_w) matrix, one matrix product."""
    c_i, n_h, n_w = X.shape
    dtype = _dtype(X, W, b)
    Y = W.to(dtype) @ X.reshape(c_i, n_h * n_w).to(dtype) + b.to(dtype).reshape(-1, 1)
    return Y.reshape(-1, n_h, n_w)


def conv1x1_linear(X, W, b):
    """A dense layer on every pixel's channel vector: F.linear on the channels-last view."""
    dtype = _dtype(X, W, b)
    return F.linear(X.to(dtype).permute(1, 2, 0), W.to(dtype), b.to(dtype)).permute(2, 0, 1)


def conv1x1_pixels(X, W, b):
    """A loop over the pixels, one matrix-vector product each."""
    c_i, n_h, n_w = X.shape
    dtype = _dtype(X, W, b)
    Y = torch.zeros((W.shape[0], n_h, n_w), dtype=dtype)
    for i in range(n_h):
        for j in range(n_w):
            Y[:, i, j] = W.to(dtype) @ X[:, i, j].to(dtype) + b.to(dtype)
    return Y


# ---------------------------------------------------------------------------------------------
# Wrong answers


def conv1x1_channels_last(X, W, b):
    return conv1x1_einsum(X, W, b).permute(1, 2, 0)


def conv1x1_no_bias(X, W, b):
    dtype = _dtype(X, W, b)
    return torch.einsum("dc,chw->dhw", W.to(dtype), X.to(dtype))


def conv1x1_bias_width(X, W, b):
    """``+ b`` without reshaping: broadcast along the width (an error unless n_w = c_o)."""
    dtype = _dtype(X, W, b)
    return torch.einsum("dc,chw->dhw", W.to(dtype), X.to(dtype)) + b.to(dtype)


def conv1x1_transposed(X, W, b):
    """W read as (c_i, c_o): an error unless c_i = c_o."""
    dtype = _dtype(X, W, b)
    return torch.einsum("cd,chw->dhw", W.to(dtype), X.to(dtype)) + b.to(dtype)[:, None, None]


def conv1x1_int(X, W, b):
    """The result in X's dtype: fractions are cut off for an integer image."""
    return conv1x1_einsum(X, W, b).to(X.dtype)


def conv1x1_conv2d(X, W, b):
    """F.conv2d with a 1x1 kernel: a library convolution (rule library_conv)."""
    dtype = _dtype(X, W, b)
    return F.conv2d(X.to(dtype)[None], W.to(dtype)[:, :, None, None], b.to(dtype))[0]


def conv1x1_in_place(X, W, b):
    """Right values, but the caller's image is changed on the way."""
    X += 1
    return conv1x1_einsum(X - 1, W, b)


CORRECT = [conv1x1_einsum, conv1x1_matmul, conv1x1_linear, conv1x1_pixels]

#: (exercise id, objects, misconception, hidden seed or None) for the misconception tests.
WRONG = [
    ("conv1x1", {"conv1x1": conv1x1_channels_last}, "channels_last", None),
    ("conv1x1", {"conv1x1": conv1x1_no_bias}, "missing_bias", None),
    ("conv1x1", {"conv1x1": conv1x1_bias_width}, "bias_broadcast", None),
    ("conv1x1", {"conv1x1": conv1x1_transposed}, "channel_order", None),
    ("conv1x1", {"conv1x1": conv1x1_int}, "int_truncation", None),
    ("conv1x1", {"conv1x1": conv1x1_conv2d}, "library_conv", None),
    ("conv1x1", {"conv1x1": conv1x1_in_place}, "modified_input", None),
    ("conv1x1", {"conv1x1": conv1x1_transposed}, "channel_order", 8),
    ("conv1x1", {"conv1x1": conv1x1_channels_last}, "channels_last", 8),
]
