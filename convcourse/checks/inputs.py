"""Inputs of the test cases: the lessons' worked examples and seeded random tensors."""

from __future__ import annotations

import random

import torch

from convcourse.checks.core import Case
from convcourse.images import edge_image

__all__ = [
    "EXAMPLE_X",
    "EXAMPLE_K",
    "EDGE_K",
    "example_x",
    "example_k",
    "lesson_edge",
    "small_ints",
    "decimals",
    "shape_tags",
    "random_shapes",
    "by_size",
]

#: The lesson's worked example: corr2d(EXAMPLE_X, EXAMPLE_K) == [[19, 25], [37, 43]].
EXAMPLE_X = ((0.0, 1.0, 2.0), (3.0, 4.0, 5.0), (6.0, 7.0, 8.0))
EXAMPLE_K = ((0.0, 1.0), (2.0, 3.0))
#: The lesson's edge detector for the 6x8 image.
EDGE_K = ((1.0, -1.0),)


def example_x() -> torch.Tensor:
    return torch.tensor(EXAMPLE_X)


def example_k() -> torch.Tensor:
    return torch.tensor(EXAMPLE_K)


def lesson_edge() -> tuple[torch.Tensor, torch.Tensor]:
    """The notes' 6x8 image with its vertical band, and the kernel [[1, -1]]."""
    return edge_image(), torch.tensor(EDGE_K)


def small_ints(gen: torch.Generator, shape, low=-3, high=7, dtype=torch.float32) -> torch.Tensor:
    """Small whole numbers (easy to read in a message), as ``dtype``."""
    return torch.randint(low, high, tuple(shape), generator=gen).to(dtype)


def decimals(gen: torch.Generator, shape, dtype=torch.float32, scale: float = 2.0) -> torch.Tensor:
    """Values in [-scale, scale) with two decimals."""
    T = torch.rand(tuple(shape), generator=gen, dtype=torch.float64) * 2 * scale - scale
    return torch.round(T, decimals=2).to(dtype)


def shape_tags(X_shape, K_shape) -> tuple[str, ...]:
    """``square`` when input and kernel are square (and the kernel is not 1x1), else
    ``non-square`` when either is not; used to spot code that only works for squares."""
    (n_h, n_w), (k_h, k_w) = X_shape, K_shape
    if n_h != n_w or k_h != k_w:
        return ("non-square",)
    return ("square",) if k_h > 1 and n_h > k_h else ()


def random_shapes(rnd: random.Random) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    """(kind, input shape, kernel shape) for the geometry every correlation check covers."""
    n = rnd.randint(2, 6), rnd.randint(2, 6)
    full = rnd.randint(1, 4), rnd.randint(2, 4)
    wide = rnd.randint(3, 5)
    wide_in = (wide, wide + rnd.randint(1, 4))
    k_wide = rnd.randint(1, 2), rnd.randint(3, 4)
    tall = rnd.randint(5, 8)
    sq = rnd.randint(4, 7)
    big = rnd.randint(11, 16), rnd.randint(11, 16)
    return [
        ("one_by_one", n, (1, 1)),
        ("full_kernel", full, full),
        ("non_square_input", wide_in, (2, 2)),
        ("non_square_kernel", (wide + 1, wide + 1), k_wide),
        ("tall_input", (tall, tall - rnd.randint(2, 3)), (rnd.randint(2, 3), 2)),
        ("square", (sq, sq), (3, 3)),
        ("image_sized", big, (rnd.randint(2, 4), rnd.randint(2, 4))),
    ]


VISIBLE_SHAPES = [
    ("one_by_one", (2, 3), (1, 1)),
    ("full_kernel", (2, 3), (2, 3)),
    ("non_square_input", (4, 6), (2, 2)),
    ("non_square_kernel", (4, 4), (1, 3)),
    ("tall_input", (6, 4), (3, 2)),
    ("square", (5, 5), (3, 3)),
    ("image_sized", (14, 16), (3, 3)),
]


def by_size(cases: list[Case]) -> list[Case]:
    """Smallest case first, so the first failure shown is the smallest one."""
    return sorted(cases, key=lambda c: c.size())
