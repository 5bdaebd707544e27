"""Small matrices as text, large outputs as a picture with a text fallback."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from convcourse.checks import CheckFailed, check_corr2d
from convcourse.checks.render import (
    difference_figure,
    difference_lines,
    matrix_lines,
    number,
    show_difference,
    side_by_side,
)

matplotlib.use("Agg")


def test_numbers_are_compact():
    assert number(3.0) == "3"
    assert number(-0.25) == "-0.25"
    assert number(1 / 3) == "0.3333"
    assert number(float("nan")) == "nan"


def test_matrix_lines_align_and_cut_large_matrices():
    lines = matrix_lines(torch.tensor([[1, 20], [300, 4]]))
    assert lines == ["  1  20", "300   4"]
    big = matrix_lines(torch.zeros((20, 30)))
    assert len(big) == 9 and big[-1] == "⋮" and big[0].endswith("…")
    assert matrix_lines(torch.tensor(2.5)) == ["2.5"]
    assert matrix_lines(torch.zeros((2, 0))) == ["<empty, shape 2×0>"]


def test_side_by_side():
    text = side_by_side([["a", "1"], ["bb", "22", "333"]], gap=2)
    assert text.splitlines() == ["a  bb", "1  22", "   333"]


def test_difference_lines_point_at_the_largest_difference():
    E = torch.zeros((12, 14))
    G = E.clone()
    G[7, 9] = 5
    G[0, 0] = 1
    lines = difference_lines(E, G)
    assert "2 of 168 cells differ" in lines[0]
    assert "[7, 9]" in lines[0] and "got 5" in lines[0]


def test_difference_figure_has_three_panels():
    E = torch.rand((12, 14))
    fig = difference_figure(E, E + 1, "title")
    assert len(fig.axes) >= 3
    fig2 = difference_figure(E, torch.rand((11, 14)))
    assert [ax.get_title() for ax in fig2.axes[:2]] == ["expected", "got"]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_no_picture_outside_a_notebook():
    E = torch.rand((12, 14))
    assert show_difference(E, E + 1) is False


def test_large_wrong_output_gets_the_text_fallback():
    def off_at_one_pixel(X, K):
        from checks_impls import corr2d_shifts

        Y = corr2d_shifts(X.double(), K.double())
        if Y.numel() > 100:
            Y[3, 4] += 7
        return Y

    with pytest.raises(CheckFailed) as info:
        check_corr2d(off_at_one_pixel)
    text = str(info.value)
    assert "cells differ" in text and "[3, 4]" in text
    assert info.value.verdict.expected is not None and info.value.verdict.got is not None
