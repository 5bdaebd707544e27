"""Library-backed operations for the checks and the figures.

The course's own implementations of the graded operations are the instructor's
(``convcourse.instructor.reference``) and not part of the student edition, and the student world
holds no answer to an exercise.  So the checks' expected values and the lessons' figures come
from PyTorch's own cross-correlation, ``torch.nn.functional.conv2d``, computed in float64.
"""

from __future__ import annotations

import torch

# Bound when convcourse is imported, before any student code runs: a later
# ``F.conv2d = ...`` in a notebook does not change the checks' expected values.
from torch.nn.functional import conv2d as _conv2d

__all__ = ["xcorr2d"]


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
