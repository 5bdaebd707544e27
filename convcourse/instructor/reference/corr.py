"""Reference 2-D cross-correlation: the lesson's loop, a fast version, channels and batches.

All functions follow d2l's naming (``X`` input, ``K`` kernel, ``Y`` output) and keep autograd
working, so they can sit inside a trainable layer.
"""

from __future__ import annotations

import torch

__all__ = [
    "output_shape",
    "corr2d",
    "corr2d_fast",
    "conv2d_flipped",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_batched",
]


def _check_2d(X, K) -> None:
    """Raise a clear error unless ``X`` and ``K`` are non-empty 2-D tensors with K inside X."""
    for name, T in (("X", X), ("K", K)):
        if not isinstance(T, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(T).__name__}")
        if T.dim() != 2:
            raise ValueError(
                f"{name} must be a 2-D tensor (height, width), got {T.dim()}-D with shape "
                f"{tuple(T.shape)}"
            )
        if T.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(T.shape)})")
    if K.shape[0] > X.shape[0] or K.shape[1] > X.shape[1]:
        raise ValueError(
            f"kernel K of shape {tuple(K.shape)} is larger than input X of shape "
            f"{tuple(X.shape)}; each side of K must be at most the matching side of X"
        )


def output_shape(X_shape, K_shape) -> tuple[int, int]:
    """Shape of ``corr2d(X, K)``: ``(n_h - k_h + 1, n_w - k_w + 1)``."""
    (n_h, n_w), (k_h, k_w) = X_shape, K_shape
    if k_h > n_h or k_w > n_w or min(n_h, n_w, k_h, k_w) < 1:
        raise ValueError(f"no valid output for input {tuple(X_shape)} and kernel {tuple(K_shape)}")
    return n_h - k_h + 1, n_w - k_w + 1


def _result_dtype(X: torch.Tensor, K: torch.Tensor) -> torch.dtype:
    return torch.promote_types(X.dtype, K.dtype)


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation exactly as the lesson teaches it: one loop step per output cell."""
    _check_2d(X, K)
    h, w = K.shape
    Y = torch.zeros(output_shape(X.shape, K.shape), dtype=_result_dtype(X, K), device=X.device)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            # The window of X under the kernel when its top-left corner sits at (i, j).
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_fast(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation with one step per kernel entry instead of one per output cell.

    ``Y = sum over (a, b) of K[a, b] * X shifted by (a, b)``: h*w whole-array operations
    (``torch.addcmul``) instead of (n_h-h+1)*(n_w-w+1) tiny ones, and autograd still works.
    """
    _check_2d(X, K)
    h, w = K.shape
    o_h, o_w = output_shape(X.shape, K.shape)
    dtype = _result_dtype(X, K)
    if not dtype.is_floating_point and not dtype.is_complex:
        # addcmul has no integer kernel with a tensor factor; integers are exact anyway.
        Y = X[:o_h, :o_w] * K[0, 0]
        for a in range(h):
            for b in range(w):
                if a or b:
                    Y = Y + X[a : a + o_h, b : b + o_w] * K[a, b]
        return Y
    X = X.to(dtype)
    K = K.to(dtype)
    Y = X[:o_h, :o_w] * K[0, 0]
    for a in range(h):
        for b in range(w):
            if a or b:
                Y = torch.addcmul(Y, X[a : a + o_h, b : b + o_w], K[a, b])
    return Y


def conv2d_flipped(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """True (mathematical) convolution: cross-correlation with the kernel flipped both ways."""
    _check_2d(X, K)
    return corr2d_fast(X, torch.flip(K, dims=(0, 1)))


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Several input channels: ``X`` is (c_i, n_h, n_w), ``K`` is (c_i, k_h, k_w); sum over c_i."""
    if X.dim() != 3 or K.dim() != 3 or X.shape[0] != K.shape[0]:
        raise ValueError(
            "expected X of shape (c_i, n_h, n_w) and K of shape (c_i, k_h, k_w) with the same "
            f"c_i, got X {tuple(X.shape)} and K {tuple(K.shape)}"
        )
    return sum(corr2d_fast(x, k) for x, k in zip(X, K, strict=True))


def corr2d_multi_in_out(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Several output channels: ``K`` is (c_o, c_i, k_h, k_w); result (c_o, n_h', n_w')."""
    if K.dim() != 4:
        raise ValueError(f"K must be 4-D (c_o, c_i, k_h, k_w), got shape {tuple(K.shape)}")
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


def corr2d_batched(X: torch.Tensor, K: torch.Tensor, bias: torch.Tensor | None = None):
    """Batched multichannel cross-correlation, the same result as ``F.conv2d(X, K, bias)``.

    ``X`` is (N, c_i, n_h, n_w), ``K`` is (c_o, c_i, k_h, k_w).  Written with plain tensor
    operations (no ``F.conv2d``): the image is laid out channels-last and flattened to a matrix
    with one row per pixel, so "the pixel shifted by (a, b)" is just the row ``a*n_w + b`` further
    down.  Stacking those shifted row blocks side by side gives a matrix whose row p holds the
    whole window at pixel p, and one matrix product with the kernel does all the work.  Rows whose
    window wraps around the right or bottom edge are computed and thrown away.
    """
    if X.dim() != 4 or K.dim() != 4 or X.shape[1] != K.shape[1]:
        raise ValueError(
            "expected X of shape (N, c_i, n_h, n_w) and K of shape (c_o, c_i, k_h, k_w) with "
            f"the same c_i, got X {tuple(X.shape)} and K {tuple(K.shape)}"
        )
    N, c_i, n_h, n_w = X.shape
    c_o, _, k_h, k_w = K.shape
    o_h, o_w = output_shape((n_h, n_w), (k_h, k_w))
    rows = N * n_h * n_w
    # Only rows whose top-left corner lies in a valid output position matter; the last valid one
    # is at (N-1, o_h-1, o_w-1), so L rows suffice and every shifted block stays in bounds.
    L = rows - ((k_h - 1) * n_w + (k_w - 1))
    Xf = X.permute(0, 2, 3, 1).reshape(rows, c_i)
    cols = torch.cat(
        [Xf[a * n_w + b : a * n_w + b + L] for a in range(k_h) for b in range(k_w)], dim=1
    )
    # (c_o, c_i, k_h, k_w) -> (k_h, k_w, c_i, c_o) to match the column order of ``cols``.
    Kf = K.permute(2, 3, 1, 0).reshape(k_h * k_w * c_i, c_o)
    Yf = cols @ Kf
    if bias is not None:
        Yf = Yf + bias
    # Row n*n_h*n_w + i*n_w + j holds output (n, :, i, j); read the valid ones in place.
    Y = Yf.as_strided((N, c_o, o_h, o_w), (n_h * n_w * c_o, 1, n_w * c_o, c_o))
    return Y
