"""Library-backed operations for the checks and the figures.

The course's own implementations of the graded operations are the instructor's
(``convcourse.instructor.reference``) and not part of the student edition, and the student world
holds no answer to an exercise.  So the checks' expected values and the lessons' figures come
from PyTorch's own cross-correlations, ``torch.nn.functional.conv2d`` (and ``conv1d`` for
signals), computed in float64.
"""

from __future__ import annotations

import torch

# Bound when convcourse is imported, before any student code runs: a later
# ``F.conv2d = ...`` in a notebook does not change the checks' expected values.
from torch.nn.functional import conv1d as _conv1d
from torch.nn.functional import conv2d as _conv2d

__all__ = ["xcorr2d", "xcorr1d", "full_convolution1d", "channel_xcorr2d"]


def xcorr2d(X, K) -> torch.Tensor:
    """The valid 2-D cross-correlation of ``X`` with ``K``: ``Y[..., i, j] = Σ_a Σ_b
    X[..., i + a, j + b] · K[a, b]``, of shape (..., n_h − k_h + 1, n_w − k_w + 1).

    ``X`` may have leading batch dimensions.  Computed with ``F.conv2d`` in float64 on the CPU:
    the result is float64 when either input is floating point, and exact in the promoted integer
    dtype when both are integers (their products and sums are exact in float64 up to 2**53).
    Autograd is not followed (the inputs are detached).
    """
    X, K = torch.as_tensor(X), torch.as_tensor(K)
    if K.dim() != 2 or X.dim() < 2:
        raise ValueError(
            f"xcorr2d needs X of shape (..., n_h, n_w) and a 2-D K, got {tuple(X.shape)} and "
            f"{tuple(K.shape)}"
        )
    if X.is_complex() or K.is_complex():
        raise TypeError("xcorr2d works on real tensors")
    (n_h, n_w), (k_h, k_w) = X.shape[-2:], K.shape
    if min(k_h, k_w) < 1 or k_h > n_h or k_w > n_w:
        raise ValueError(f"kernel {tuple(K.shape)} does not fit in input {tuple(X.shape)}")
    lead = tuple(X.shape[:-2])
    X4 = X.detach().to("cpu", torch.float64).reshape(-1, 1, n_h, n_w)
    K4 = K.detach().to("cpu", torch.float64).reshape(1, 1, k_h, k_w)
    Y = _conv2d(X4, K4).reshape(*lead, n_h - k_h + 1, n_w - k_w + 1)
    if X.is_floating_point() or K.is_floating_point():
        return Y
    dtype = torch.promote_types(X.dtype, K.dtype)
    return torch.round(Y).to(torch.int64 if dtype == torch.bool else dtype)


def _exact(Y: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """``Y`` (float64) as the checks compare it: float64 when an input is floating point, else
    exact in the promoted integer dtype (as in ``xcorr2d``)."""
    if any(T.is_floating_point() for T in inputs):
        return Y
    dtype = inputs[0].dtype
    for T in inputs[1:]:
        dtype = torch.promote_types(dtype, T.dtype)
    return torch.round(Y).to(torch.int64 if dtype == torch.bool else dtype)


def _real_1d(name: str, T) -> torch.Tensor:
    T = torch.as_tensor(T)
    if T.dim() != 1 or T.numel() < 1:
        raise ValueError(f"{name} needs a non-empty 1-D tensor, got shape {tuple(T.shape)}")
    if T.is_complex():
        raise TypeError(f"{name} works on real tensors")
    return T


def xcorr1d(x, k) -> torch.Tensor:
    """The valid 1-D cross-correlation ``y[i] = Σ_a x[i + a] · k[a]``, of length n − m + 1.

    Computed with ``F.conv1d`` in float64 on the CPU; dtypes as in ``xcorr2d``.
    """
    x, k = _real_1d("xcorr1d", x), _real_1d("xcorr1d", k)
    if k.numel() > x.numel():
        raise ValueError(f"kernel of length {k.numel()} does not fit in a signal of {x.numel()}")
    x3 = x.detach().to("cpu", torch.float64).reshape(1, 1, -1)
    k3 = k.detach().to("cpu", torch.float64).reshape(1, 1, -1)
    return _exact(_conv1d(x3, k3).reshape(-1), x, k)


def full_convolution1d(f, g) -> torch.Tensor:
    """The full 1-D convolution ``(f ∗ g)[i] = Σ_a f[a] · g[i − a]`` (the sum over every ``a``
    where both indices exist), of length n + m − 1: what ``numpy.convolve(f, g)`` returns.

    ``F.conv1d`` cross-correlates, so ``g`` is reversed and ``f`` padded with m − 1 zeros on both
    sides; float64 on the CPU, dtypes as in ``xcorr2d``.
    """
    f, g = _real_1d("full_convolution1d", f), _real_1d("full_convolution1d", g)
    f3 = f.detach().to("cpu", torch.float64).reshape(1, 1, -1)
    g3 = torch.flip(g.detach().to("cpu", torch.float64), (0,)).reshape(1, 1, -1)
    return _exact(_conv1d(f3, g3, padding=g.numel() - 1).reshape(-1), f, g)


def channel_xcorr2d(X, K, bias=None) -> torch.Tensor:
    """Cross-correlation with channels, as a convolution layer computes it:
    ``Y[d, i, j] = bias[d] + Σ_c Σ_a Σ_b K[d, c, a, b] · X[c, i + a, j + b]``.

    ``X`` is (c_i, n_h, n_w), ``K`` is (c_o, c_i, k_h, k_w), ``bias`` is (c_o,) or None; the
    result is (c_o, n_h − k_h + 1, n_w − k_w + 1).  ``F.conv2d`` in float64 on the CPU; dtypes as
    in ``xcorr2d`` (an integer bias counts as an integer input).
    """
    X, K = torch.as_tensor(X), torch.as_tensor(K)
    if X.dim() != 3 or K.dim() != 4 or K.shape[1] != X.shape[0]:
        raise ValueError(
            f"channel_xcorr2d needs X of shape (c_i, n_h, n_w) and K of shape (c_o, c_i, k_h, k_w)"
            f", got {tuple(X.shape)} and {tuple(K.shape)}"
        )
    if X.is_complex() or K.is_complex():
        raise TypeError("channel_xcorr2d works on real tensors")
    if K.shape[2] > X.shape[1] or K.shape[3] > X.shape[2] or min(K.shape) < 1:
        raise ValueError(f"kernel {tuple(K.shape)} does not fit in input {tuple(X.shape)}")
    inputs = [X, K]
    b64 = None
    if bias is not None:
        bias = torch.as_tensor(bias)
        if tuple(bias.shape) != (K.shape[0],):
            raise ValueError(f"bias must have shape ({K.shape[0]},), got {tuple(bias.shape)}")
        inputs.append(bias)
        b64 = bias.detach().to("cpu", torch.float64)
    X4 = X.detach().to("cpu", torch.float64)[None]
    K4 = K.detach().to("cpu", torch.float64)
    return _exact(_conv2d(X4, K4, b64)[0], *inputs)
