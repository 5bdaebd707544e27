"""A gallery of hand-designed kernels, each a small float tensor.

Every call returns fresh tensors, so a lesson may modify what it gets.  The gallery holds no
answer of lesson 04: the horizontal-edge kernel and a blur kernel of any size are exercises
(the checks' rule "shipped" forbids using this module in an answer anyway).
"""

from __future__ import annotations

import torch

__all__ = ["KERNEL_NAMES", "kernel", "kernel_gallery"]


def _gaussian_kernel(size: int = 5, sigma: float = 1.0) -> torch.Tensor:
    """A normalised ``size`` x ``size`` Gaussian blur kernel (entries sum to 1), for the
    gallery's fixed ``gaussian_blur``."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd number, got {size}")
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    K = torch.outer(g, g)
    return K / K.sum()


def _table() -> dict[str, torch.Tensor]:
    t = torch.tensor
    sobel_x = t([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    return {
        # x[i, j] - x[i, j+1]: non-zero where the image changes from left to right.
        "edge_vertical": t([[1.0, -1.0]]),
        "sobel_x": sobel_x,
        "sobel_y": sobel_x.T.contiguous(),
        "laplacian": t([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
        "sharpen": t([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
        "box_blur": torch.full((3, 3), 1.0 / 9.0),
        "gaussian_blur": _gaussian_kernel(5, 1.0),
        "identity": t([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    }


KERNEL_NAMES: tuple[str, ...] = tuple(_table())


def kernel(name: str) -> torch.Tensor:
    """One kernel of the gallery by name (see ``KERNEL_NAMES``)."""
    table = _table()
    if name not in table:
        raise KeyError(f"unknown kernel {name!r}; choose one of {', '.join(KERNEL_NAMES)}")
    return table[name]


def kernel_gallery() -> dict[str, torch.Tensor]:
    """All kernels of the gallery, name -> tensor, in a stable order."""
    return _table()
