"""Layers of the course: the dense layer with a 4-D weight, and the hand-written ``Conv2D``."""

from __future__ import annotations

import torch
from torch import nn

from convcourse.instructor.reference.corr import corr2d_fast

__all__ = ["dense_layer", "dense_weight_from_kernel", "local_mask", "Conv2D"]


def dense_layer(X: torch.Tensor, W: torch.Tensor, U: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Fully connected layer on a 2-D input: ``H[i,j] = U[i,j] + sum_k sum_l W[i,j,k,l] X[k,l]``.

    ``X`` is (n_h, n_w), ``W`` is (m_h, m_w, n_h, n_w): every hidden unit (i, j) has its own weight
    for every input pixel (k, l).
    """
    if X.dim() != 2:
        raise ValueError(f"X must be 2-D (n_h, n_w), got shape {tuple(X.shape)}")
    if W.dim() != 4 or tuple(W.shape[2:]) != tuple(X.shape):
        raise ValueError(
            f"W must be 4-D (m_h, m_w, n_h, n_w) with (n_h, n_w) = X.shape {tuple(X.shape)}, "
            f"got W of shape {tuple(W.shape)}"
        )
    return torch.einsum("ijkl,kl->ij", W, X) + U


def dense_weight_from_kernel(V: torch.Tensor, input_shape, delta: int | None = None):
    """Build the 4-D dense weight ``W`` that a translation-invariant, local layer would have.

    ``V`` is the (2Δ+1) x (2Δ+1) kernel, ``V[a + Δ, b + Δ]`` standing for the offset (a, b) with
    ``|a|, |b| <= Δ``.  Hidden unit (i, j) looks at the input pixels ``k = i + a``, ``l = j + b``
    around it with the same weights wherever it is (invariance) and at nothing further away than
    Δ (locality).  Hidden units are kept only where the whole neighbourhood lies inside the image,
    so ``dense_layer(X, W)`` equals ``corr2d(X, V)``; ``W[i, j]`` is centred on input pixel
    ``(i + Δ, j + Δ)``.
    """
    if V.dim() != 2 or V.shape[0] != V.shape[1] or V.shape[0] % 2 != 1:
        raise ValueError(f"V must be a square kernel of odd side 2Δ+1, got shape {tuple(V.shape)}")
    side = V.shape[0]
    if delta is None:
        delta = (side - 1) // 2
    elif side != 2 * delta + 1:
        raise ValueError(f"V of shape {tuple(V.shape)} does not match Δ={delta} (side 2Δ+1)")
    n_h, n_w = input_shape
    m_h, m_w = n_h - 2 * delta, n_w - 2 * delta
    if m_h < 1 or m_w < 1:
        raise ValueError(
            f"an input of shape {(n_h, n_w)} has no pixel with a full Δ={delta} window"
        )
    W = V.new_zeros((m_h, m_w, n_h, n_w))
    for i in range(m_h):
        for j in range(m_w):
            # Unit (i, j) is centred on pixel (i + Δ, j + Δ): offset (a, b) reads pixel
            # (i + Δ + a, j + Δ + b), which is V's entry (a + Δ, b + Δ).
            W[i, j, i : i + side, j : j + side] = V
    return W


def local_mask(input_shape, delta: int) -> torch.Tensor:
    """Boolean (m_h, m_w, n_h, n_w) mask of the weights a local layer with radius Δ may use."""
    V = torch.ones((2 * delta + 1, 2 * delta + 1))
    return dense_weight_from_kernel(V, input_shape, delta) != 0


class Conv2D(nn.Module):
    """A 2-D convolution layer: cross-correlation with a learnable kernel, plus a learnable bias."""

    def __init__(self, kernel_size):
        super().__init__()
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return corr2d_fast(X, self.weight) + self.bias
