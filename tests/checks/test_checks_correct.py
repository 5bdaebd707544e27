"""Correct answers, in several styles, are never flagged (property-based over shapes, dtypes,
values and seeds)."""

from __future__ import annotations

import checks_impls as impl
import checks_impls_channels as channels
import checks_impls_signals as signals
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcourse.checks import EXERCISES, Case
from convcourse.checks.inputs import shape_tags

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
DTYPES = st.sampled_from([torch.float32, torch.float64, torch.int64])


@st.composite
def correlation_inputs(draw, grad: bool = False):
    n_h, n_w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    k_h, k_w = draw(st.integers(1, n_h)), draw(st.integers(1, n_w))
    x_dtype = draw(DTYPES)
    k_dtype = draw(st.sampled_from([torch.float32, torch.float64]) if grad else DTYPES)
    if grad:
        x_dtype = torch.float32
    gen = torch.Generator().manual_seed(draw(SEEDS))
    scale = draw(st.sampled_from([1.0, 10.0, 1e3]))

    def values(shape, dtype):
        if dtype.is_floating_point:
            return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)
        return torch.randint(-9, 10, shape, generator=gen)

    data = {"X": values((n_h, n_w), x_dtype), "K": values((k_h, k_w), k_dtype)}
    if grad:
        data["dY"] = values((n_h - k_h + 1, n_w - k_w + 1), torch.float32)
    return Case("square", data, shape_tags((n_h, n_w), (k_h, k_w)))


def _judged(exercise_id: str, objs: dict, case: Case):
    ex = EXERCISES[exercise_id]
    obs = ex.probe(objs, case)
    return ex.judge(case, obs)


CORR2D_STYLES = [
    impl.corr2d_shifts,
    impl.corr2d_loop,
    impl.corr2d_unfold,
    impl.corr2d_strided,
]


@FAST
@given(case=correlation_inputs(grad=True), style=st.sampled_from(CORR2D_STYLES))
def test_corr2d_correct_styles_pass(case, style):
    verdict = _judged("corr2d", {"corr2d": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(case=correlation_inputs(), style=st.sampled_from(CORR2D_STYLES))
def test_corr2d_fast_correct_styles_pass(case, style):
    verdict = _judged("corr2d-fast", {"corr2d_fast": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(
    case=correlation_inputs(),
    style=st.sampled_from([impl.convolve2d_shifts, impl.convolve2d_flip]),
)
def test_convolve2d_correct_styles_pass(case, style):
    verdict = _judged("convolve2d", {"convolve2d": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(case=correlation_inputs(), style=st.sampled_from([impl.corr2d_shifts, impl.kernel_grad]))
def test_kernel_grad_correct_styles_pass(case, style):
    case = Case("grad_small", {"X": case.data["X"], "dY": case.data["K"]})
    verdict = _judged("kernel-grad", {"kernel_grad": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(
    case=correlation_inputs(),
    style=st.sampled_from([impl.kernel_matrix_basis, impl.kernel_matrix_rows]),
)
def test_kernel_matrix_correct_styles_pass(case, style):
    K = case.data["K"].to(torch.float32)
    case = Case("square", {"K": K, "X_shape": tuple(case.data["X"].shape)})
    verdict = _judged("corr2d-matmul", {"kernel_matrix": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(case=correlation_inputs(), style=st.sampled_from([impl.output_shape]))
def test_output_shape_correct_styles_pass(case, style):
    case = Case(
        "square", {"X_shape": tuple(case.data["X"].shape), "K_shape": tuple(case.data["K"].shape)}
    )
    verdict = _judged("output-shape", {"output_shape": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(
    n=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    m=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    seed=SEEDS,
    dtype=st.sampled_from([torch.float32, torch.float64]),
    style=st.sampled_from([impl.dense_layer_einsum, impl.dense_layer_loops]),
)
def test_dense_layer_correct_styles_pass(n, m, seed, dtype, style):
    gen = torch.Generator().manual_seed(seed)
    data = {
        "X": torch.randn(n, generator=gen, dtype=dtype),
        "W": torch.randn((*m, *n), generator=gen, dtype=dtype),
        "U": torch.randn(m, generator=gen, dtype=dtype),
    }
    verdict = _judged("dense-layer", {"dense_layer": style}, Case("dense_other", data))
    assert verdict.passed, verdict.message


@FAST
@given(
    delta=st.integers(0, 2),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    seed=SEEDS,
    style=st.sampled_from([impl.dense_weight_loops]),
)
def test_dense_weight_correct_styles_pass(delta, extra, seed, style):
    side = 2 * delta + 1
    V = torch.randn((side, side), generator=torch.Generator().manual_seed(seed))
    case = Case("delta_one", {"V": V, "input_shape": (side + extra[0], side + extra[1])})
    verdict = _judged("dense-weight", {"dense_weight_from_kernel": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(
    v=st.tuples(st.floats(-5, 5, allow_nan=False), st.floats(-5, 5, allow_nan=False)).filter(
        lambda v: abs(v[0]) + abs(v[1]) > 0.1
    ),
    style=st.sampled_from([impl.directional_edge_kernel, impl.directional_central]),
)
def test_directional_kernel_correct_styles_pass(v, style):
    case = Case("direction", {"v": v, "offset": 3.0})
    verdict = _judged("directional-kernel", {"directional_edge_kernel": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(size=st.integers(2, 12), style=st.sampled_from([impl.blur_kernel, impl.blur_gaussian]))
def test_blur_kernel_correct_styles_pass(size, style):
    verdict = _judged("blur-kernel", {"blur_kernel": style}, Case("blur_size", {"size": size}))
    assert verdict.passed, verdict.message


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS, hidden=st.booleans())
def test_whole_checks_pass_for_reference_answers_on_any_seed(seed, hidden):
    answers = {
        "param-counts": {
            "dense_param_count": impl.dense_param_count,
            "local_param_count": impl.local_param_count,
        },
        "dense-layer": {"dense_layer": impl.dense_layer_einsum},
        "dense-weight": {"dense_weight_from_kernel": impl.dense_weight_loops},
        "output-shape": {"output_shape": impl.output_shape},
        "corr2d": {"corr2d": impl.corr2d_shifts},
        "corr2d-fast": {"corr2d_fast": impl.corr2d_unfold},
        "corr2d-matmul": {"kernel_matrix": impl.kernel_matrix_rows},
        "convolve2d": {"convolve2d": impl.convolve2d_shifts},
        "conv1x1": {"conv1x1": channels.conv1x1_linear},
        "corr1d": {"corr1d": signals.corr1d_unfold},
        "convolve1d": {"convolve1d": signals.convolve1d_fft},
        "conv2d-layer": {"Conv2D": impl.Conv2DFunctional},
        "kernel-grad": {"kernel_grad": impl.corr2d_shifts},
        "horizontal-kernel": {"K_horizontal": impl.K_horizontal_sobel},
        "directional-kernel": {"directional_edge_kernel": impl.directional_central},
        "second-derivative": {"second_derivative_kernel": impl.second_derivative_kernel},
        "blur-kernel": {"blur_kernel": impl.blur_gaussian},
        "min-kernel-size": {"min_kernel_size": impl.min_kernel_size},
        "train-loop": {"train_kernel": impl.train_kernel_sgd},
    }
    for exercise_id, objs in answers.items():
        outcome = EXERCISES[exercise_id].run(objs, seed=seed, hidden=hidden)
        assert outcome.verdict.passed, outcome.verdict.message


@pytest.mark.parametrize(
    "exercise_id, objs",
    [
        ("corr2d", {"corr2d": impl.corr2d_loop}),
        ("conv2d-layer", {"Conv2D": impl.Conv2D}),
        ("conv2d-layer", {"Conv2D": impl.Conv2DShifts}),
        ("conv2d-layer", {"Conv2D": impl.Conv2DFunctional}),
        ("train-loop", {"train_kernel": impl.train_kernel}),
        ("horizontal-kernel", {"K_horizontal": impl.K_horizontal}),
        ("recover-kernel", {"recover_kernel": impl.recover_kernel}),
    ],
)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_lesson_style_answers_pass(exercise_id, objs, seed):
    outcome = EXERCISES[exercise_id].run(objs, seed=seed, hidden=seed is not None)
    assert outcome.verdict.passed, outcome.verdict.message
    assert outcome.verdict.message.startswith("✔")
