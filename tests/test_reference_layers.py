"""The dense layer with a 4-D weight, the weight built from a kernel, and ``Conv2D``."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from convcourse.instructor.reference.corr import corr2d
from convcourse.instructor.reference.layers import (
    Conv2D,
    dense_layer,
    dense_weight_from_kernel,
    local_mask,
)


@given(
    n_h=st.integers(1, 8),
    n_w=st.integers(1, 8),
    m_h=st.integers(1, 4),
    m_w=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_dense_layer_is_the_double_sum(n_h, n_w, m_h, m_w, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn((n_h, n_w), generator=g, dtype=torch.float64)
    W = torch.randn((m_h, m_w, n_h, n_w), generator=g, dtype=torch.float64)
    U = torch.randn((m_h, m_w), generator=g, dtype=torch.float64)
    H = torch.empty(m_h, m_w, dtype=torch.float64)
    for i in range(m_h):
        for j in range(m_w):
            H[i, j] = U[i, j] + sum(W[i, j, k, l] * X[k, l] for k in range(n_h) for l in range(n_w))
    torch.testing.assert_close(dense_layer(X, W, U), H)
    # It is an ordinary matrix-vector product once W and X are flattened.
    torch.testing.assert_close(
        dense_layer(X, W, U), (W.reshape(m_h * m_w, -1) @ X.reshape(-1)).reshape(m_h, m_w) + U
    )


@given(
    delta=st.integers(0, 3),
    extra_h=st.integers(0, 5),
    extra_w=st.integers(0, 5),
    seed=st.integers(0, 10_000),
)
def test_invariance_plus_locality_turn_the_dense_layer_into_corr2d(delta, extra_h, extra_w, seed):
    side = 2 * delta + 1
    g = torch.Generator().manual_seed(seed)
    X = torch.randn((side + extra_h, side + extra_w), generator=g, dtype=torch.float64)
    V = torch.randn((side, side), generator=g, dtype=torch.float64)
    W = dense_weight_from_kernel(V, X.shape)
    assert W.shape == (extra_h + 1, extra_w + 1, *X.shape)
    torch.testing.assert_close(dense_layer(X, W), corr2d(X, V))
    # Invariance: every hidden unit carries the same weights, shifted with it.
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            torch.testing.assert_close(W[i, j, i : i + side, j : j + side], V)
    # Locality: only (2Δ+1)² weights per hidden unit can be non-zero (d2l's text says 4Δ²).
    mask = local_mask(X.shape, delta)
    assert int(mask[0, 0].sum()) == side**2
    assert not bool(W[~mask].any())


def test_dense_weight_index_mapping_is_k_equals_i_plus_a():
    # A kernel with a single 1 at offset (a, b) = (+1, 0) makes each unit copy the pixel below.
    V = torch.zeros(3, 3)
    V[2, 1] = 1.0
    X = torch.arange(25.0).reshape(5, 5)
    H = dense_layer(X, dense_weight_from_kernel(V, X.shape))
    # Unit (i, j) is centred on pixel (i+1, j+1); offset (+1, 0) reads pixel (i+2, j+1).
    torch.testing.assert_close(H, X[2:5, 1:4])


def test_dense_weight_rejects_bad_kernels_and_inputs():
    with pytest.raises(ValueError, match=r"odd side.*\(2, 2\)"):
        dense_weight_from_kernel(torch.zeros(2, 2), (5, 5))
    with pytest.raises(ValueError, match="Δ=2"):
        dense_weight_from_kernel(torch.zeros(3, 3), (5, 5), delta=2)
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        dense_weight_from_kernel(torch.zeros(3, 3), (2, 5))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        dense_layer(torch.zeros(3, 3), torch.zeros(2, 2, 3, 4))


def test_conv2d_layer_has_learnable_weight_and_bias():
    torch.manual_seed(0)
    layer = Conv2D((1, 2))
    names = dict(layer.named_parameters())
    assert set(names) == {"weight", "bias"}
    assert names["weight"].shape == (1, 2) and names["bias"].shape == (1,)
    X = torch.randn(6, 8)
    Y = layer(X)
    torch.testing.assert_close(Y, corr2d(X, layer.weight.detach()) + layer.bias.detach())
    Y.sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None
    # d(sum Y)/d bias counts the output cells; d(sum Y)/dK[a, b] sums the shifted windows.
    assert float(layer.bias.grad) == Y.numel()
    torch.testing.assert_close(layer.weight.grad, corr2d(X, torch.ones(6, 7)))
    assert Conv2D(3).weight.shape == (3, 3)


def test_conv2d_layer_learns_the_edge_kernel_like_the_notes():
    from convcourse.images import edge_image

    torch.manual_seed(0)
    X = edge_image()
    Y = corr2d(X, torch.tensor([[1.0, -1.0]]))
    layer = Conv2D((1, 2))
    lr = 1e-2  # with a bias (42 output cells) the notes' 3e-2 would diverge
    for _ in range(300):
        loss = ((layer(X) - Y) ** 2).sum()
        layer.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in layer.parameters():
                p -= lr * p.grad
    torch.testing.assert_close(
        layer.weight.detach(), torch.tensor([[1.0, -1.0]]), atol=0.05, rtol=0
    )


def test_conv2d_layer_matches_nn_conv2d_with_the_same_parameters():
    torch.manual_seed(1)
    ours, theirs = Conv2D((2, 3)), nn.Conv2d(1, 1, kernel_size=(2, 3))
    with torch.no_grad():
        theirs.weight.copy_(ours.weight.reshape(1, 1, 2, 3))
        theirs.bias.copy_(ours.bias)
    X = torch.randn(5, 7)
    torch.testing.assert_close(ours(X), theirs(X.reshape(1, 1, 5, 7))[0, 0])
