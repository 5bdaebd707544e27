"""The reference cross-correlations against independent oracles.

Oracles: ``torch.nn.functional.conv2d`` (PyTorch's own), ``scipy.signal.correlate2d`` (numpy
world, float64) and ``d2l.corr2d`` (the textbook's).  Shapes are drawn at random, including 1x1
kernels, kernels as large as the input and non-square shapes.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import correlate2d

from convcourse.instructor.reference.corr import (
    conv2d_flipped,
    corr2d,
    corr2d_batched,
    corr2d_fast,
    corr2d_multi_in,
    corr2d_multi_in_out,
    output_shape,
)

IMPLS = [corr2d, corr2d_fast]


@st.composite
def x_and_k(draw, max_side=9, dtype=torch.float64):
    n_h = draw(st.integers(1, max_side))
    n_w = draw(st.integers(1, max_side))
    k_h = draw(st.integers(1, n_h))
    k_w = draw(st.integers(1, n_w))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    X = torch.randn((n_h, n_w), generator=g, dtype=dtype)
    K = torch.randn((k_h, k_w), generator=g, dtype=dtype)
    return X, K


def test_worked_example_from_the_lesson():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    for impl in IMPLS:
        assert torch.equal(impl(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


def test_edge_detection_on_the_notes_image():
    from convcourse.images import edge_image

    X, K = edge_image(), torch.tensor([[1.0, -1.0]])
    expected = torch.zeros(6, 7)
    expected[:, 1], expected[:, 5] = 1.0, -1.0
    for impl in IMPLS:
        assert torch.equal(impl(X, K), expected)
        # The transposed image has only horizontal edges: this kernel sees none of them.
        assert torch.equal(impl(X.T, K), torch.zeros(8, 5))


@pytest.mark.parametrize("impl", IMPLS)
@given(xk=x_and_k())
def test_matches_conv2d_and_has_shape_n_minus_k_plus_1(impl, xk):
    X, K = xk
    Y = impl(X, K)
    assert Y.shape == (X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1)
    assert Y.shape == output_shape(X.shape, K.shape)
    torch.testing.assert_close(Y, F.conv2d(X[None, None], K[None, None])[0, 0])


@pytest.mark.parametrize("impl", IMPLS)
@given(xk=x_and_k())
def test_matches_scipy_correlate2d(impl, xk):
    X, K = xk
    expected = correlate2d(X.numpy(), K.numpy(), mode="valid")
    np.testing.assert_allclose(impl(X, K).numpy(), expected, rtol=1e-10, atol=1e-10)


@given(xk=x_and_k(dtype=torch.float32))
def test_matches_d2l_corr2d(xk):
    from d2l import torch as d2l

    X, K = xk
    expected = d2l.corr2d(X, K)
    for impl in IMPLS:
        torch.testing.assert_close(impl(X, K), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", IMPLS)
@given(xk=x_and_k(), a=st.floats(-3, 3), b=st.floats(-3, 3), seed=st.integers(0, 1000))
def test_linear_in_the_input_and_in_the_kernel(impl, xk, a, b, seed):
    X, K = xk
    g = torch.Generator().manual_seed(seed)
    X2 = torch.randn(X.shape, generator=g, dtype=X.dtype)
    K2 = torch.randn(K.shape, generator=g, dtype=K.dtype)
    torch.testing.assert_close(impl(a * X + b * X2, K), a * impl(X, K) + b * impl(X2, K))
    torch.testing.assert_close(impl(X, a * K + b * K2), a * impl(X, K) + b * impl(X, K2))


@pytest.mark.parametrize("impl", IMPLS)
@given(xk=x_and_k())
def test_transposing_input_and_kernel_transposes_the_output(impl, xk):
    X, K = xk
    torch.testing.assert_close(impl(X.T, K.T), impl(X, K).T)


@given(xk=x_and_k())
def test_true_convolution_is_correlation_with_the_flipped_kernel(xk):
    X, K = xk
    from scipy.signal import convolve2d

    np.testing.assert_allclose(
        conv2d_flipped(X, K).numpy(), convolve2d(X.numpy(), K.numpy(), mode="valid"), atol=1e-10
    )


@pytest.mark.parametrize("impl", IMPLS)
@given(xk=x_and_k(max_side=5))
def test_gradients_match_finite_differences(impl, xk):
    X, K = xk
    X.requires_grad_(True)
    K.requires_grad_(True)
    assert torch.autograd.gradcheck(impl, (X, K))


def test_integer_inputs_stay_exact():
    X = torch.arange(12).reshape(3, 4)
    K = torch.tensor([[1, -1]])
    for impl in IMPLS:
        Y = impl(X, K)
        assert Y.dtype == torch.int64
        assert torch.equal(Y, -torch.ones(3, 3, dtype=torch.int64))
    # An integer image with a float kernel gives floats, not a truncated result.
    assert torch.equal(corr2d_fast(X, torch.tensor([[0.5]])), X / 2)


@pytest.mark.parametrize("impl", IMPLS)
def test_the_input_is_not_modified(impl):
    X, K = torch.randn(5, 6), torch.randn(2, 3)
    X0, K0 = X.clone(), K.clone()
    impl(X, K)
    assert torch.equal(X, X0) and torch.equal(K, K0)


@pytest.mark.parametrize("impl", [*IMPLS, conv2d_flipped])
@pytest.mark.parametrize(
    ("X", "K", "words"),
    [
        (torch.zeros(3, 3), torch.zeros(4, 2), ["(4, 2)", "(3, 3)", "larger"]),
        (torch.zeros(3, 3), torch.zeros(2, 4), ["(2, 4)", "(3, 3)", "larger"]),
        (torch.zeros(5), torch.zeros(2, 2), ["X", "2-D", "(5,)"]),
        (torch.zeros(1, 5, 5), torch.zeros(2, 2), ["X", "3-D", "(1, 5, 5)"]),
        (torch.zeros(5, 5), torch.zeros(1, 2, 2), ["K", "3-D", "(1, 2, 2)"]),
        (torch.zeros(0, 5), torch.zeros(1, 1), ["X", "empty", "(0, 5)"]),
        (torch.zeros(5, 5), torch.zeros(2, 0), ["K", "empty", "(2, 0)"]),
    ],
)
def test_bad_input_gets_an_error_naming_the_shapes(impl, X, K, words):
    with pytest.raises(ValueError) as err:
        impl(X, K)
    for word in words:
        assert word in str(err.value)


def test_non_tensor_input_is_rejected_clearly():
    with pytest.raises(TypeError, match="X must be a torch.Tensor, got list"):
        corr2d_fast([[1.0, 2.0]], torch.ones(1, 1))


@given(
    c_i=st.integers(1, 3),
    c_o=st.integers(1, 3),
    xk=x_and_k(max_side=7),
    n=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_multichannel_and_batched_match_conv2d(c_i, c_o, xk, n, seed):
    X0, K0 = xk
    g = torch.Generator().manual_seed(seed)
    X = torch.randn((n, c_i, *X0.shape), generator=g, dtype=torch.float64)
    K = torch.randn((c_o, c_i, *K0.shape), generator=g, dtype=torch.float64)
    bias = torch.randn(c_o, generator=g, dtype=torch.float64)
    expected = F.conv2d(X, K, bias)
    torch.testing.assert_close(corr2d_batched(X, K, bias), expected)
    torch.testing.assert_close(corr2d_multi_in_out(X[0], K), F.conv2d(X[:1], K)[0])
    torch.testing.assert_close(corr2d_multi_in(X[0], K[0]), F.conv2d(X[:1], K[:1])[0, 0])


def test_batched_gradients():
    g = torch.Generator().manual_seed(0)
    X = torch.randn((2, 2, 5, 4), generator=g, dtype=torch.float64, requires_grad=True)
    K = torch.randn((3, 2, 2, 3), generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(corr2d_batched, (X, K, b))


def test_multichannel_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 4, 4\).*\(3, 2, 2\)"):
        corr2d_multi_in(torch.zeros(2, 4, 4), torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"\(1, 2, 4, 4\).*\(3, 3, 2, 2\)"):
        corr2d_batched(torch.zeros(1, 2, 4, 4), torch.zeros(3, 3, 2, 2))
