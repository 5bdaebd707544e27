"""Lesson 1's 1×1 convolution and lesson 2's 1-D correlation and convolution: correct answers
in every style pass, the oracles agree with independent implementations, and the checks call
convolve1d in both orders."""

from __future__ import annotations

import checks_impls_channels as channels
import checks_impls_signals as signals
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcourse.checks import EXERCISES, Case
from convcourse.instructor.reference.corr import corr2d_multi_in_out
from convcourse.oracle import channel_xcorr2d, full_convolution1d, xcorr1d

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


def _values(gen, shape, dtype):
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=gen, dtype=torch.float64) * 3).to(dtype)
    return torch.randint(-9, 10, shape, generator=gen)


def _judged(exercise_id: str, objs: dict, case: Case):
    ex = EXERCISES[exercise_id]
    return ex.judge(case, ex.probe(objs, case))


@FAST
@given(
    c_i=st.integers(1, 5),
    c_o=st.integers(1, 5),
    n=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    x_dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]),
    seed=SEEDS,
    style=st.sampled_from(channels.CORRECT),
)
def test_conv1x1_correct_styles_pass(c_i, c_o, n, x_dtype, seed, style):
    gen = torch.Generator().manual_seed(seed)
    data = {
        "X": _values(gen, (c_i, *n), x_dtype),
        "W": _values(gen, (c_o, c_i), torch.float32),
        "b": _values(gen, (c_o,), torch.float64),
    }
    verdict = _judged("conv1x1", {"conv1x1": style}, Case("more_channels", data))
    assert verdict.passed, verdict.message


@FAST
@given(
    n=st.integers(1, 12),
    m_frac=st.floats(0, 1),
    dtypes=st.tuples(*[st.sampled_from([torch.float32, torch.float64, torch.int64])] * 2),
    seed=SEEDS,
    style=st.sampled_from(signals.CORR1D_CORRECT),
)
def test_corr1d_correct_styles_pass(n, m_frac, dtypes, seed, style):
    gen = torch.Generator().manual_seed(seed)
    m = 1 + int(m_frac * (n - 1))
    case = Case(
        "long_signal", {"x": _values(gen, (n,), dtypes[0]), "k": _values(gen, (m,), dtypes[1])}
    )
    verdict = _judged("corr1d", {"corr1d": style}, case)
    assert verdict.passed, verdict.message


@FAST
@given(
    n=st.integers(1, 10),
    m=st.integers(1, 10),
    dtypes=st.tuples(*[st.sampled_from([torch.float32, torch.float64, torch.int64])] * 2),
    seed=SEEDS,
    style=st.sampled_from(signals.CONVOLVE1D_CORRECT),
)
def test_convolve1d_correct_styles_pass_in_both_orders(n, m, dtypes, seed, style):
    gen = torch.Generator().manual_seed(seed)
    case = Case(
        "long_pair", {"f": _values(gen, (n,), dtypes[0]), "g": _values(gen, (m,), dtypes[1])}
    )
    verdict = _judged("convolve1d", {"convolve1d": style}, case)
    assert verdict.passed, verdict.message


def test_convolve1d_is_called_in_both_orders():
    calls = []

    def spy(f, g):
        calls.append((f.shape[0], g.shape[0]))
        return signals.convolve1d_scatter(f, g)

    ex = EXERCISES["convolve1d"]
    cases = ex.cases()
    outcome = ex.run({"convolve1d": spy})
    assert outcome.verdict.passed, outcome.verdict.message
    assert len(calls) == 2 * len(cases)
    assert {(m, n) for n, m in calls} == set(calls), "each pair is also called swapped"
    assert any(n < m for n, m in calls) and any(n > m for n, m in calls)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_cases_cover_what_the_exercises_promise(hidden):
    """The lesson's example, integer inputs, kernels of length 1 and full length, several
    dtypes, pairs of different lengths, fractional values in the visible cases too."""
    one = EXERCISES["corr1d"].cases(4, hidden=hidden)
    assert any(c.data["k"].numel() == 1 for c in one)
    assert any(c.data["k"].numel() == c.data["x"].numel() for c in one)
    assert any(not c.data["x"].is_floating_point() for c in one)
    assert any((c.data["x"] != c.data["x"].round()).any() for c in one)
    pairs = EXERCISES["convolve1d"].cases(4, hidden=hidden)
    assert len({(c.data["f"].numel() > c.data["g"].numel()) for c in pairs}) == 2
    channels_cases = EXERCISES["conv1x1"].cases(4, hidden=hidden)
    shapes = {(c.data["W"].shape, c.data["X"].shape[2]) for c in channels_cases}
    assert any(w[0] == w[1] for w, _ in shapes), "c_i = c_o, where W.T also runs"
    assert any(w[0] == n_w and w[0] > 1 for w, n_w in shapes), "n_w = c_o, where + b runs"
    assert any(not c.data["X"].is_floating_point() for c in channels_cases)
    assert any(c.data["X"].dtype == torch.float64 for c in channels_cases)


@FAST
@given(n=st.integers(1, 12), m=st.integers(1, 12), seed=SEEDS)
def test_full_convolution1d_is_numpy_convolve_and_commutes(n, m, seed):
    gen = torch.Generator().manual_seed(seed)
    f, g = torch.randn(n, generator=gen, dtype=torch.float64), torch.randn(m, generator=gen)
    want = np.convolve(f.numpy(), g.double().numpy())
    np.testing.assert_allclose(full_convolution1d(f, g).numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(full_convolution1d(g, f).numpy(), want, rtol=1e-12, atol=1e-12)
    if m <= n:
        valid = np.correlate(f.numpy(), g.double().numpy(), mode="valid")
        np.testing.assert_allclose(xcorr1d(f, g).numpy(), valid, rtol=1e-12, atol=1e-12)


def test_the_one_dimensional_oracles_keep_integers_exact():
    x = torch.tensor([3_000_000, 1, -7], dtype=torch.int64)
    k = torch.tensor([7_000, 2], dtype=torch.int64)
    assert xcorr1d(x, k).tolist() == [21_000_000_002, 6_986]
    assert full_convolution1d(x, k).dtype == torch.int64
    assert full_convolution1d(x, k).tolist() == np.convolve(x.numpy(), k.numpy()).tolist()


def test_channel_xcorr2d_is_the_reference_with_a_bias():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(3, 6, 7, generator=gen, dtype=torch.float64)
    K = torch.randn(4, 3, 2, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(4, generator=gen, dtype=torch.float64)
    want = corr2d_multi_in_out(X, K) + b[:, None, None]
    torch.testing.assert_close(channel_xcorr2d(X, K, b), want)
    with pytest.raises(ValueError):
        channel_xcorr2d(X, K[:, :2])
