"""check_corr2d_speed: correctness first, then timed against the loop or F.conv2d."""

from __future__ import annotations

import time

import pytest
import torch
from checks_impls import corr2d_conv2d, corr2d_flipped, corr2d_loop, corr2d_shifts, corr2d_unfold

from convcourse.checks import SPEED_EXERCISES, CheckFailed, check_corr2d_speed


@pytest.mark.parametrize("level", ["pass", "full"])
def test_vectorized_corr2d_passes_and_reports_the_ratio(level, capsys):
    threads = torch.get_num_threads()
    start = time.perf_counter()
    check_corr2d_speed(corr2d_shifts, level)
    assert time.perf_counter() - start < 5
    out = capsys.readouterr().out
    assert out.startswith("✔") and "×" in out and "ms" in out
    assert torch.get_num_threads() == threads


def test_unfold_passes_the_pass_level():
    check_corr2d_speed(corr2d_unfold, "pass")


def test_the_loop_is_too_slow():
    with pytest.raises(CheckFailed) as info:
        check_corr2d_speed(corr2d_loop, "pass")
    assert info.value.misconception == "too_slow"
    assert "needed ≥ 50×" in str(info.value)


def test_correctness_comes_first():
    with pytest.raises(CheckFailed) as info:
        check_corr2d_speed(corr2d_flipped, "pass")
    assert info.value.misconception == "flipped_kernel"


def test_f_conv2d_is_not_an_answer():
    with pytest.raises(CheckFailed) as info:
        check_corr2d_speed(corr2d_conv2d, "full")
    assert info.value.misconception == "library_conv"


def test_unknown_level():
    with pytest.raises(ValueError, match="level"):
        check_corr2d_speed(corr2d_shifts, "fastest")


def test_timings_are_plain_observations():
    ex = SPEED_EXERCISES["pass"]
    case = ex.cases()[0]
    obs = ex.probe({"corr2d_fast": corr2d_shifts}, case)
    timing = obs["timing"]
    assert set(timing) >= {"student_s", "baseline_s", "baseline"}
    assert timing["student_s"] > 0 and timing["baseline_s"] > timing["student_s"]
