"""Toy images of the lessons and one real photograph, as float tensors (1 = white, 0 = black)."""

from __future__ import annotations

import torch

__all__ = [
    "edge_image",
    "horizontal_edge_image",
    "diagonal_edge_image",
    "checkerboard",
    "photograph",
    "PHOTOGRAPH_CREDIT",
]

PHOTOGRAPH_CREDIT = (
    "Rear Admiral Grace Hopper, official U.S. Navy portrait (public domain), "
    "as shipped with matplotlib's sample data"
)


def edge_image() -> torch.Tensor:
    """The notes' 6x8 image: white, with a black vertical band in columns 2 to 5."""
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


def horizontal_edge_image() -> torch.Tensor:
    """The 8x6 transpose of ``edge_image()``: its edges are horizontal."""
    return edge_image().T.contiguous()


def diagonal_edge_image(n: int = 8) -> torch.Tensor:
    """An n x n image, white above the main diagonal and black on and below it."""
    i = torch.arange(n).reshape(-1, 1)
    j = torch.arange(n).reshape(1, -1)
    return (j > i).to(torch.float32)


def checkerboard(n: int = 8, square: int = 2) -> torch.Tensor:
    """An n x n checkerboard of ``square`` x ``square`` black and white squares."""
    if square < 1:
        raise ValueError(f"square must be at least 1, got {square}")
    i = torch.arange(n).reshape(-1, 1) // square
    j = torch.arange(n).reshape(1, -1) // square
    return ((i + j) % 2).to(torch.float32)


def photograph(size: int | None = 256) -> torch.Tensor:
    """A real grayscale photograph as a float32 tensor in [0, 1], shape (height, width).

    The picture ships inside matplotlib (nothing is downloaded).  ``size`` is the length of the
    shorter side after resizing (``None`` keeps the original 600x512 pixels).
    """
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f).convert("L")
        if size is not None:
            if size < 1:
                raise ValueError(f"size must be positive, got {size}")
            w, h = img.size
            scale = size / min(w, h)
            img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
        data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        X = data.reshape(img.size[1], img.size[0])
    return X.to(torch.float32) / 255.0
