"""convcourse.oracle, the checks' library-backed cross-correlation, agrees with the course's own
implementations (the instructor's reference) on every shape and dtype."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from convcourse.instructor.reference.corr import conv2d_flipped, corr2d, corr2d_fast
from convcourse.oracle import xcorr2d

DTYPES = [torch.float32, torch.float64, torch.int64, torch.int32]


@st.composite
def pairs(draw):
    n_h, n_w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k_h, k_w = draw(st.integers(1, n_h)), draw(st.integers(1, n_w))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))

    def values(shape, dtype):
        if dtype.is_floating_point:
            return (torch.randn(shape, generator=gen, dtype=torch.float64) * 10).to(dtype)
        return torch.randint(-50, 50, shape, generator=gen).to(dtype)

    X = values((n_h, n_w), draw(st.sampled_from(DTYPES)))
    K = values((k_h, k_w), draw(st.sampled_from(DTYPES)))
    return X, K


@given(pairs())
def test_xcorr2d_equals_the_lessons_loop(pair):
    X, K = pair
    Y = xcorr2d(X, K)
    want = corr2d(X.to(torch.float64), K.to(torch.float64))
    torch.testing.assert_close(Y.to(torch.float64), want, rtol=1e-12, atol=1e-9)
    if X.is_floating_point() or K.is_floating_point():
        assert Y.dtype == torch.float64
    else:  # integers stay integers, exactly
        assert Y.dtype == torch.promote_types(X.dtype, K.dtype)
        assert torch.equal(Y, corr2d_fast(X, K))


def test_large_integers_are_exact():
    X = torch.full((4, 5), 3_000_000, dtype=torch.int64)
    K = torch.full((2, 2), 7_000, dtype=torch.int64)
    assert torch.equal(xcorr2d(X, K), corr2d_fast(X, K))


def test_batches_and_true_convolution():
    X = torch.randn(3, 2, 6, 7, dtype=torch.float64)
    K = torch.randn(2, 3, dtype=torch.float64)
    Y = xcorr2d(X, K)
    assert Y.shape == (3, 2, 5, 5)
    torch.testing.assert_close(Y[2, 1], corr2d_fast(X[2, 1], K))
    torch.testing.assert_close(xcorr2d(X[0, 0], torch.flip(K, (0, 1))), conv2d_flipped(X[0, 0], K))


def test_no_autograd_and_cpu_results():
    X = torch.randn(4, 4, requires_grad=True)
    Y = xcorr2d(X, torch.ones(2, 2))
    assert not Y.requires_grad and Y.device.type == "cpu"


def test_a_later_patch_of_f_conv2d_does_not_change_it(monkeypatch):
    import torch.nn.functional as F

    X, K = torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    monkeypatch.setattr(F, "conv2d", lambda *a, **k: torch.zeros(1, 1, 2, 2))
    assert xcorr2d(X, K).tolist() == [[19.0, 25.0], [37.0, 43.0]]


@pytest.mark.parametrize(
    "X, K, error",
    [
        (torch.zeros(3, 3), torch.zeros(4, 1), ValueError),
        (torch.zeros(3), torch.zeros(1, 1), ValueError),
        (torch.zeros(3, 3), torch.zeros(2), ValueError),
        (torch.zeros(3, 3, dtype=torch.complex64), torch.zeros(1, 1), TypeError),
    ],
)
def test_bad_inputs_are_refused(X, K, error):
    with pytest.raises(error):
        xcorr2d(X, K)
