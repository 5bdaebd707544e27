"""The data contract with the grader: cases and observations are plain data, judge is pure."""

from __future__ import annotations

import subprocess
import sys

import checks_impls as impl
import checks_impls_channels as channels
import checks_impls_signals as signals
import impls_lessons345 as added
import pytest
import torch

from convcourse.checks import EXERCISES, LESSON_EXERCISES, Verdict

ANSWERS = {
    "param-counts": {
        "dense_param_count": impl.dense_param_count,
        "local_param_count": impl.local_param_count,
    },
    "dense-layer": {"dense_layer": impl.dense_layer_einsum},
    "dense-weight": {"dense_weight_from_kernel": impl.dense_weight_loops},
    "conv1x1": {"conv1x1": channels.conv1x1_matmul},
    "output-shape": {"output_shape": impl.output_shape},
    "corr2d": {"corr2d": impl.corr2d_loop},
    "corr2d-fast": {"corr2d_fast": impl.corr2d_shifts},
    "corr2d-matmul": {"kernel_matrix": impl.kernel_matrix_rows},
    "convolve2d": {"convolve2d": impl.convolve2d_shifts},
    "corr1d": {"corr1d": signals.corr1d_loop},
    "convolve1d": {"convolve1d": signals.convolve1d_bounds},
    "conv2d-layer": {"Conv2D": impl.Conv2DShifts},
    "kernel-grad": {"kernel_grad": impl.kernel_grad},
    "input-grad": {"input_grad": added.input_grad},
    "receptive-field": {"receptive_field": added.receptive_field},
    "horizontal-kernel": {"K_horizontal": impl.K_horizontal},
    "diagonal-edges": {"diagonal_edge_responses": added.diagonal_edge_responses},
    "integral-kernel": {"integral_kernel": added.integral_kernel},
    "directional-kernel": {"directional_edge_kernel": impl.directional_edge_kernel},
    "second-derivative": {"second_derivative_kernel": impl.second_derivative_kernel},
    "blur-kernel": {"blur_kernel": impl.blur_kernel},
    "min-kernel-size": {"min_kernel_size": impl.min_kernel_size},
    "train-loop": {"train_kernel": impl.train_kernel},
    "lr-limit": {"lr_limit": added.lr_limit},
    "recover-kernel": {"recover_kernel": impl.recover_kernel},
}


def _assert_plain(value, where="observation"):
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, torch.Tensor):
        assert value.device.type == "cpu" and not value.requires_grad, where
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _assert_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), where
            _assert_plain(v, f"{where}.{k}")
        return
    raise AssertionError(f"{where}: {type(value).__name__} is not plain data")


def test_every_exercise_of_the_contract_is_described():
    assert set(EXERCISES) == {e for ids in LESSON_EXERCISES.values() for e in ids}
    assert set(ANSWERS) == set(EXERCISES), "every exercise has an answer below"
    for ex in EXERCISES.values():
        assert ex.symbols and ex.check_name.startswith("check_")


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_cases_and_observations_are_plain_and_judge_is_pure(exercise_id):
    ex = EXERCISES[exercise_id]
    cases = ex.cases(1, hidden=True)[:2] if exercise_id == "recover-kernel" else ex.cases()
    observations = []
    for case in cases:
        _assert_plain(case.data, "case")
        obs = ex.probe(ANSWERS[exercise_id], case)
        _assert_plain(obs)
        observations.append(obs)
        first, second = ex.judge(case, obs), ex.judge(case, obs)
        assert isinstance(first, Verdict) and first.passed, first.message
        assert (first.passed, first.misconception, first.message) == (
            second.passed,
            second.misconception,
            second.message,
        )
    verdict = ex.grade(cases, observations)
    assert verdict.passed and verdict.message.startswith("✔")


def test_failed_observations_are_plain_too():
    ex = EXERCISES["corr2d"]
    for fn in (impl.corr2d_meta, impl.corr2d_numpy, impl.corr2d_item, impl.corr2d_no_return):
        for case in ex.cases():
            _assert_plain(ex.probe({"corr2d": fn}, case))


def test_import_is_light_and_keeps_the_worlds_apart():
    code = (
        "import sys, convcourse.checks\n"
        "heavy = [m for m in ('matplotlib', 'd2l', 'scipy', 'pandas', 'convcourse.instructor')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
