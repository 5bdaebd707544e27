"""Student answers for testing the checks: correct ones in several styles, and deliberately wrong
ones, each wrong one labelled with the misconception the check must name."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy import signal
from torch import nn

# Nothing here comes from convcourse: the checks flag an answer that runs the course's code
# (rule "shipped"), so even the wrong answers below are written out in full.

# ---------------------------------------------------------------------------------------------
# Correct answers


def corr2d_shifts(X, K):
    """One whole-array multiply-add per kernel entry: the lesson's vectorized corr2d_fast."""
    h, w = K.shape
    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
    dtype = torch.promote_types(X.dtype, K.dtype)
    Y = torch.zeros((o_h, o_w), dtype=dtype)
    for a in range(h):
        for b in range(w):
            Y = Y + X[a : a + o_h, b : b + o_w].to(dtype) * K[a, b].to(dtype)
    return Y


def convolve2d_shifts(X, K):
    return corr2d_shifts(X, torch.flip(K, (0, 1)))


def corr2d_loop(X, K):
    """The lesson's loop."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_unfold(X, K):
    """F.unfold + matrix product, in the promoted dtype."""
    dtype = torch.promote_types(X.dtype, K.dtype)
    if not dtype.is_floating_point:
        dtype = torch.float64
    h, w = K.shape
    cols = F.unfold(X.to(dtype)[None, None], (h, w))[0]
    return (K.to(dtype).reshape(1, -1) @ cols).reshape(X.shape[0] - h + 1, X.shape[1] - w + 1)


def corr2d_strided(X, K):
    """as_strided windows and einsum."""
    h, w = K.shape
    windows = X.unfold(0, h, 1).unfold(1, w, 1)
    dtype = torch.promote_types(X.dtype, K.dtype)
    return torch.einsum("ijab,ab->ij", windows.to(dtype), K.to(dtype))


def corr2d_scipy(X, K):
    """scipy's correlate2d: a library correlation, forbidden everywhere (rule library_conv)."""
    return torch.as_tensor(signal.correlate2d(X.numpy(), K.numpy(), mode="valid"))


def convolve2d_flip(X, K):
    return corr2d_loop(X, torch.flip(K, (0, 1)))


def dense_param_count(n_h, n_w, m_h, m_w):
    return n_h * n_w * m_h * m_w


def local_param_count(delta):
    return (2 * delta + 1) ** 2


def dense_layer_einsum(X, W, U):
    return torch.einsum("ijkl,kl->ij", W, X) + U


def dense_layer_loops(X, W, U):
    H = U.clone().to(torch.promote_types(U.dtype, X.dtype))
    m_h, m_w, n_h, n_w = W.shape
    for i in range(m_h):
        for j in range(m_w):
            H[i, j] = H[i, j] + (W[i, j] * X).sum()
    return H


def dense_weight_loops(V, input_shape):
    delta = (V.shape[0] - 1) // 2
    n_h, n_w = input_shape
    m_h, m_w = n_h - 2 * delta, n_w - 2 * delta
    W = torch.zeros((m_h, m_w, n_h, n_w), dtype=V.dtype)
    for i in range(m_h):
        for j in range(m_w):
            for a in range(-delta, delta + 1):
                for b in range(-delta, delta + 1):
                    W[i, j, i + delta + a, j + delta + b] = V[a + delta, b + delta]
    return W


def output_shape(X_shape, K_shape):
    return (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)


def kernel_matrix_basis(K, X_shape):
    """Column p of M is corr2d of the p-th unit image: a different, correct construction."""
    n_h, n_w = X_shape
    cols = []
    for p in range(n_h * n_w):
        E = torch.zeros(n_h * n_w)
        E[p] = 1
        cols.append(corr2d_loop(E.reshape(n_h, n_w), K.to(torch.float32)).reshape(-1))
    return torch.stack(cols, dim=1)


def kernel_matrix_rows(K, X_shape):
    """Row i·o_w + j of M holds row a of K at the columns of input pixels (i + a, j + b)."""
    n_h, n_w = X_shape
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((o_h * o_w, n_h * n_w), dtype=torch.float64)
    for i in range(o_h):
        for j in range(o_w):
            for a in range(k_h):
                start = (i + a) * n_w + j
                M[i * o_w + j, start : start + k_w] = K[a].to(torch.float64)
    return M


class Conv2D(nn.Module):
    """d2l's layer on the lesson's loop."""

    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d_loop(x, self.weight) + self.bias


class Conv2DShifts(Conv2D):
    """The vectorized forward."""

    def forward(self, x):
        return corr2d_shifts(x, self.weight) + self.bias


class Conv2DFunctional(Conv2D):
    """F.conv2d inside forward: allowed in lesson 03 (the rule forbids conv modules only)."""

    def forward(self, x):
        return F.conv2d(x[None, None], self.weight[None, None])[0, 0] + self.bias


def kernel_grad(X, dY):
    return corr2d_loop(X, dY)


K_horizontal = torch.tensor([[1.0], [-1.0]])
K_horizontal_sobel = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def directional_edge_kernel(v):
    v1, v2 = v
    return torch.tensor([[-(v1 + v2), v2], [v1, 0.0]])


def directional_central(v):
    """Central differences in a 3x3 kernel: another correct answer."""
    v1, v2 = v
    K = torch.zeros(3, 3)
    K[0, 1], K[2, 1] = -v1 / 2, v1 / 2
    K[1, 0], K[1, 2] = -v2 / 2, v2 / 2
    return K


def second_derivative_kernel():
    return torch.tensor([[1.0, -2.0, 1.0]])


def blur_kernel(size):
    return torch.ones((size, size)) / size**2


def blur_gaussian(size):
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / 2)
    K = torch.outer(g, g)
    return K / K.sum()


def min_kernel_size(d):
    return d + 1


def train_kernel(X, Y, K_init, lr, num_epochs):
    K = K_init.clone().requires_grad_(True)
    losses = []
    for _ in range(num_epochs):
        loss = ((corr2d_loop(X, K) - Y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            K -= lr * K.grad
        K.grad.zero_()
    return K.detach(), losses


def train_kernel_sgd(X, Y, K_init, lr, num_epochs):
    """With torch.optim.SGD and an nn.Parameter: another correct style."""
    K = nn.Parameter(K_init.clone())
    opt = torch.optim.SGD([K], lr=lr)
    losses = []
    for _ in range(num_epochs):
        opt.zero_grad()
        loss = ((F.conv2d(X[None, None], K[None, None])[0, 0] - Y) ** 2).sum()
        losses.append(float(loss))
        loss.backward()
        opt.step()
    return K, losses


def _as_list(X):
    return list(X) if isinstance(X, torch.Tensor) else X


def recover_kernel(X, Y, kernel_shape):
    X, Y = _as_list(X), _as_list(Y)
    K = torch.zeros(kernel_shape, requires_grad=True)
    opt = torch.optim.Adam([K], lr=0.1)
    for _ in range(400):
        opt.zero_grad()
        loss = sum(((corr2d_shifts(x, K) - y) ** 2).sum() for x, y in zip(X, Y, strict=True))
        loss.backward()
        opt.step()
    return K.detach()


# ---------------------------------------------------------------------------------------------
# Wrong answers: corr2d family


def _loop(X, K, *, out_shape, window, kernel=None, dtype=torch.float32, fill=None):
    """A corr2d-like loop with pluggable mistakes."""
    Y = torch.zeros(out_shape, dtype=dtype) if fill is None else torch.full(out_shape, fill)
    Kk = K if kernel is None else kernel
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (window(X, i, j) * Kk).sum()
    return Y


def _o(X, K, dh=0, dw=0):
    return (X.shape[0] - K.shape[0] + 1 + dh, X.shape[1] - K.shape[1] + 1 + dw)


def corr2d_flipped(X, K):
    h, w = K.shape
    return _loop(
        X,
        K,
        out_shape=_o(X, K),
        window=lambda X, i, j: X[i : i + h, j : j + w],
        kernel=torch.flip(K, (0, 1)),
    )


def corr2d_minus_one(X, K):
    h, w = K.shape
    return _loop(X, K, out_shape=_o(X, K, -1, -1), window=lambda X, i, j: X[i : i + h, j : j + w])


def corr2d_loop_short(X, K):
    """Right size, but ``range(n - k)``: the last row and column are never filled."""
    h, w = K.shape
    Y = torch.zeros(_o(X, K))
    for i in range(Y.shape[0] - 1):
        for j in range(Y.shape[1] - 1):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_plus_one(X, K):
    h, w = K.shape
    return _loop(X, K, out_shape=_o(X, K, 1, 1), window=lambda X, i, j: X[i : i + h, j : j + w])


def corr2d_swapped(X, K):
    h, w = K.shape
    o_h, o_w = _o(X, K)
    Y = torch.zeros((o_w, o_h))
    for i in range(o_h):
        for j in range(o_w):
            Y[j, i] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_square_shape(X, K):
    """Uses the heights for both dimensions."""
    n, k = X.shape[0], K.shape[0]
    return _loop(
        X, K, out_shape=(n - k + 1, n - k + 1), window=lambda X, i, j: X[i : i + k, j : j + k]
    )


def corr2d_square_window(X, K):
    """Right output size, but the window is h×h."""
    h, _ = K.shape
    return _loop(X, K, out_shape=_o(X, K), window=lambda X, i, j: X[i : i + h, j : j + h])


def corr2d_hardcoded_loops(X, K):
    """Written for the 6x8 example: loops over 6 rows and 7 columns."""
    Y = torch.zeros((6, 7))
    for i in range(6):
        for j in range(7):
            Y[i, j] = (X[i : i + 1, j : j + 2] * K).sum()
    return Y


def corr2d_hardcoded_answer(X, K):
    return torch.tensor([[19.0, 25.0], [37.0, 43.0]])


def corr2d_int(X, K):
    h, w = K.shape
    return _loop(
        X, K, out_shape=_o(X, K), window=lambda X, i, j: X[i : i + h, j : j + w], dtype=X.dtype
    )


def corr2d_in_place(X, K):
    """Uses a view of X as the output buffer, so it overwrites X."""
    h, w = K.shape
    o_h, o_w = _o(X, K)
    Y = X[:o_h, :o_w]
    for i in range(o_h):
        for j in range(o_w):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_conv2d(X, K):
    return F.conv2d(X[None, None].float(), K[None, None].float())[0, 0]


def corr2d_nn_conv(X, K):
    conv = nn.Conv2d(1, 1, K.shape, bias=False)
    with torch.no_grad():
        conv.weight[:] = K
    return conv(X[None, None].float())[0, 0]


def corr2d_numpy(X, K):
    return corr2d_loop(X, K).detach().numpy()


def corr2d_list(X, K):
    return corr2d_loop(X, K).tolist()


def corr2d_meta(X, K):
    return corr2d_loop(X, K).to("meta")


def corr2d_item(X, K):
    h, w = K.shape
    Y = torch.zeros(_o(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum().item()
    return Y


def corr2d_detach(X, K):
    return corr2d_loop(X, K.detach())


def corr2d_numpy_round_trip(X, K):
    h, w = K.shape
    x, k = X.detach().numpy(), K.detach().numpy()
    Y = np.zeros(_o(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (x[i : i + h, j : j + w] * k).sum()
    return torch.tensor(Y)


def corr2d_no_grad(X, K):
    with torch.no_grad():
        return corr2d_loop(X, K)


def corr2d_nan(X, K):
    h, w = K.shape
    Y = torch.full(_o(X, K), float("nan"))
    for i in range(Y.shape[0] - 1):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_no_return(X, K):
    corr2d_loop(X, K)


def corr2d_full(X, K):
    """The "full" cross-correlation: zero padding of k - 1 on every side."""
    h, w = K.shape
    return corr2d_shifts(F.pad(X.to(torch.float64), (w - 1, w - 1, h - 1, h - 1)), K)


def corr2d_fast_convolve(X, K):
    """Vectorized, but the true convolution."""
    return convolve2d_shifts(X, K)


def convolve2d_not_flipped(X, K):
    return corr2d_loop(X, K)


def convolve2d_one_axis(X, K):
    return corr2d_loop(X, torch.flip(K, (1,)))


def convolve2d_transposed(X, K):
    return corr2d_loop(X, K.T)


def convolve2d_scipy(X, K):
    return torch.as_tensor(signal.convolve2d(X.numpy(), K.numpy(), mode="valid"))


# ---------------------------------------------------------------------------------------------
# Wrong answers: other exercises


def output_shape_minus(X_shape, K_shape):
    return (X_shape[0] - K_shape[0], X_shape[1] - K_shape[1])


def output_shape_plus(X_shape, K_shape):
    return (X_shape[0] - K_shape[0] + 2, X_shape[1] - K_shape[1] + 2)


def output_shape_swapped(X_shape, K_shape):
    return (X_shape[1] - K_shape[1] + 1, X_shape[0] - K_shape[0] + 1)


def output_shape_square(X_shape, K_shape):
    return (X_shape[0] - K_shape[0] + 1, X_shape[0] - K_shape[0] + 1)


def output_shape_hardcoded(X_shape, K_shape):
    return (6, 7)


def output_shape_floats(X_shape, K_shape):
    return ((X_shape[0] - K_shape[0]) / 1 + 1, (X_shape[1] - K_shape[1]) / 1 + 1)


def output_shape_tensor(X_shape, K_shape):
    return torch.tensor(output_shape(X_shape, K_shape))


def output_shape_same(X_shape, K_shape):
    return tuple(X_shape)


def kernel_matrix_flipped(K, X_shape):
    return kernel_matrix_rows(torch.flip(K, (0, 1)), X_shape)


def kernel_matrix_transposed(K, X_shape):
    return kernel_matrix_rows(K, X_shape).T


def kernel_matrix_column_major(K, X_shape):
    M = kernel_matrix_rows(K, X_shape)
    n_h, n_w = X_shape
    return M.reshape(M.shape[0], n_h, n_w).transpose(1, 2).reshape(M.shape)


def kernel_matrix_int(K, X_shape):
    return kernel_matrix_rows(K, X_shape).to(torch.int64)


def dense_param_count_bias(n_h, n_w, m_h, m_w):
    return n_h * n_w * m_h * m_w + m_h * m_w


def dense_param_count_added(n_h, n_w, m_h, m_w):
    return n_h * n_w + m_h * m_w


def local_param_count_2delta(delta):
    return (2 * delta) ** 2


def local_param_count_1d(delta):
    return 2 * delta + 1


def dense_layer_no_bias(X, W, U):
    return torch.einsum("ijkl,kl->ij", W, X)


def dense_layer_swapped(X, W, U):
    return torch.einsum("klij,kl->ij", W, X) + U


def dense_layer_in_place(X, W, U):
    H = U
    H += torch.einsum("ijkl,kl->ij", W, X)
    return H


def dense_weight_minus(V, input_shape):
    """k = i − a: the input pixel at the mirrored offset."""
    delta = (V.shape[0] - 1) // 2
    n_h, n_w = input_shape
    m_h, m_w = n_h - 2 * delta, n_w - 2 * delta
    W = torch.zeros((m_h, m_w, n_h, n_w), dtype=V.dtype)
    for i in range(m_h):
        for j in range(m_w):
            for a in range(-delta, delta + 1):
                for b in range(-delta, delta + 1):
                    W[i, j, i + delta - a, j + delta - b] = V[a + delta, b + delta]
    return W


def dense_weight_all_units(V, input_shape):
    """Keeps a hidden unit for every pixel (zero-padded windows)."""
    delta = (V.shape[0] - 1) // 2
    n_h, n_w = input_shape
    W = torch.zeros((n_h, n_w, n_h + 2 * delta, n_w + 2 * delta), dtype=V.dtype)
    for i in range(n_h):
        for j in range(n_w):
            W[i, j, i : i + V.shape[0], j : j + V.shape[1]] = V
    return W[:, :, delta : delta + n_h, delta : delta + n_w]


class Conv2DNoBias(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))

    def forward(self, x):
        return corr2d_shifts(x, self.weight)


class Conv2DForgetsBias(Conv2D):
    def forward(self, x):
        return corr2d_shifts(x, self.weight)


class Conv2DBiasShape(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(kernel_size))

    def forward(self, x):
        return corr2d_shifts(x, self.weight) + self.bias.mean()


class Conv2DPlainTensors(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = torch.rand(kernel_size, requires_grad=True)
        self.bias = torch.zeros(1, requires_grad=True)

    def forward(self, x):
        return corr2d_shifts(x, self.weight) + self.bias


class Conv2DNamedKernel(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.kernel = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d_shifts(x, self.kernel) + self.bias


class Conv2DItem(Conv2D):
    def forward(self, x):
        return corr2d_item(x, self.weight) + self.bias


class Conv2DNoGrad(Conv2D):
    def forward(self, x):
        with torch.no_grad():
            Y = corr2d_shifts(x, self.weight)
        return Y + self.bias


class Conv2DLibrary(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, kernel_size)

    def forward(self, x):
        return self.conv(x[None, None])[0, 0]


class Conv2DFlipped(Conv2D):
    def forward(self, x):
        return corr2d_shifts(x, torch.flip(self.weight, (0, 1))) + self.bias


class Conv2DSwapped(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand((kernel_size[1], kernel_size[0])))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d_shifts(x, self.weight) + self.bias


class Conv2DSquare(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand((kernel_size[0], kernel_size[0])))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d_shifts(x, self.weight) + self.bias


def kernel_grad_autograd(X, dY):
    K = torch.zeros(
        (X.shape[0] - dY.shape[0] + 1, X.shape[1] - dY.shape[1] + 1), requires_grad=True
    )
    (corr2d_shifts(X, K) * dY).sum().backward()
    return K.grad


def kernel_grad_flipped(X, dY):
    return corr2d_loop(X, torch.flip(dY, (0, 1)))


K_vertical = torch.tensor([[1.0, -1.0]])
K_flat = torch.tensor([[1.0], [1.0]])
K_one_d = torch.tensor([1.0, -1.0])
K_zero = torch.zeros((2, 1))
K_diagonal = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
K_list = [[1.0], [-1.0]]


def directional_across(v):
    v1, v2 = v
    return directional_edge_kernel((-v2, v1))


def directional_xy(v):
    v1, v2 = v
    return directional_edge_kernel((v2, v1))


def directional_sum(v):
    return directional_edge_kernel(v) + 1.0


def directional_zero(v):
    return torch.zeros((2, 2))


def second_first_derivative():
    return torch.tensor([[1.0, -1.0]])


def second_vertical():
    return torch.tensor([[1.0], [-2.0], [1.0]])


def second_big():
    return torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 1.0], [0.0, 0.0, 0.0]])


def second_sign():
    return torch.tensor([[-1.0, 2.0, -1.0]])


def second_one_d():
    return torch.tensor([1.0, -2.0, 1.0])


def second_flat():
    return torch.tensor([[1.0, 2.0, 1.0]])


def blur_ones(size):
    return torch.ones((size, size))


def blur_negative(size):
    K = torch.full((size, size), 2.0 / size**2)
    K[0, 0] = 1 - K.sum() + K[0, 0]
    return K


def blur_identity(size):
    K = torch.zeros((size, size))
    K[size // 2, size // 2] = 1
    return K


def blur_int(size):
    return torch.ones((size, size), dtype=torch.int64) // size**2


def blur_fixed(size):
    return torch.ones((3, 3)) / 9


def min_kernel_size_d(d):
    return d


def min_kernel_size_centred(d):
    return 2 * d + 1


def min_kernel_size_text(d):
    return f"{d + 1}"


def _train(
    X,
    Y,
    K_init,
    lr,
    num_epochs,
    *,
    step=1.0,
    zero=True,
    loss="sum",
    epochs=None,
    init=None,
    use_lr=None,
):
    K = (K_init.clone() if init is None else init(K_init)).requires_grad_(True)
    lr = lr if use_lr is None else use_lr
    losses = []
    for _ in range(num_epochs if epochs is None else epochs(num_epochs)):
        err = (corr2d_shifts(X, K) - Y) ** 2
        value = err.sum() if loss == "sum" else err.mean()
        losses.append(value.item())
        value.backward()
        with torch.no_grad():
            K -= step * lr * K.grad
        if zero:
            K.grad.zero_()
    return K.detach(), losses


def train_no_zero(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, zero=False)


def train_uphill(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, step=-1.0)


def train_big_step(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, step=float(Y.numel()))


def train_mean(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, loss="mean")


def train_own_lr(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, use_lr=3e-2)


def train_random_init(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, init=lambda K: torch.rand(K.shape))


def train_extra_epoch(X, Y, K_init, lr, num_epochs):
    return _train(X, Y, K_init, lr, num_epochs, epochs=lambda n: n + 1)


def train_in_place(X, Y, K_init, lr, num_epochs):
    K = K_init
    losses = []
    for _ in range(num_epochs):
        K.requires_grad_(True)
        loss = ((corr2d_shifts(X, K) - Y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        K.data -= lr * K.grad
        K.grad = None
    return K.detach(), losses


def train_item_corr(X, Y, K_init, lr, num_epochs):
    """Uses a corr2d that breaks autograd: backward() fails."""
    K = K_init.clone().requires_grad_(True)
    losses = []
    for _ in range(num_epochs):
        loss = ((corr2d_item(X, K) - Y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
    return K.detach(), losses


def _recover(X, Y, kernel_shape, *, epochs=400, lr=0.1, fn=corr2d_shifts, optimizer="adam"):
    X, Y = _as_list(X), _as_list(Y)
    K = torch.zeros(kernel_shape, requires_grad=True)
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)([K], lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        loss = sum(((fn(x, K) - y) ** 2).sum() for x, y in zip(X, Y, strict=True))
        loss.backward()
        opt.step()
    return K.detach()


def recover_flipped(X, Y, kernel_shape):
    return _recover(X, Y, kernel_shape, fn=convolve2d_shifts)


def recover_short(X, Y, kernel_shape):
    return _recover(X, Y, kernel_shape, epochs=40)


def recover_diverges(X, Y, kernel_shape):
    return _recover(X, Y, kernel_shape, epochs=30, lr=1.0, optimizer="sgd")


def recover_lesson_kernel(X, Y, kernel_shape):
    return torch.tensor([[1.0, -1.0]])


def recover_transposed(X, Y, kernel_shape):
    return _recover(X, Y, kernel_shape).T


def recover_4d(X, Y, kernel_shape):
    return _recover(X, Y, kernel_shape).reshape(1, 1, *kernel_shape)


# ---------------------------------------------------------------------------------------------
# Answers that break a rule (more, and every bypass of the recorder, in test_checks_rules.py)


def corr2d_d2l(X, K):
    """d2l's corr2d, wrapped."""
    from d2l import torch as d2l

    return d2l.corr2d(X, K)


def corr2d_course(X, K):
    """The course's own loop (the instructor's reference), wrapped."""
    from convcourse.instructor.reference.corr import corr2d

    return corr2d(X, K)


def corr2d_oracle(X, K):
    """The checks' own library cross-correlation."""
    from convcourse.oracle import xcorr2d

    return xcorr2d(X, K)


def corr2d_profile_off(X, K):
    """Switches the recorder's profile function off, then computes honestly."""
    import sys

    sys.setprofile(None)
    return corr2d_loop(X, K)


def kernel_matrix_checks_helper(K, X_shape):
    """The checks' private helper that computes the expected matrix."""
    from convcourse.checks import lesson2

    return lesson2._expected_kernel_matrix(K, X_shape)


def blur_gallery_gaussian(size):
    """The gallery's Gaussian helper (it answers odd sizes)."""
    from convcourse import kernels

    return kernels._gaussian_kernel(size if size % 2 else size + 1)[:size, :size]


class Conv2DSubclass(nn.Conv2d):
    """nn.Conv2d itself, adapted to the exercise's signature."""

    def __init__(self, kernel_size):
        super().__init__(1, 1, kernel_size)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return super().forward(x[None, None])[0, 0]


# ---------------------------------------------------------------------------------------------
# The table the tests run: exercise id, objects, the misconception to name, hidden seed or None


@dataclass(frozen=True)
class Wrong:
    exercise: str
    objs: dict = field(hash=False)
    key: str
    seed: int | None = None  # None: the visible cases; an int: the hidden cases of that seed

    @property
    def name(self) -> str:
        fn = next(iter(self.objs.values()))
        label = getattr(fn, "__name__", type(fn).__name__)
        return f"{self.exercise}:{self.key}:{label}"


def _c(fn, key, exercise="corr2d", seed=None):
    symbol = {"corr2d": "corr2d", "corr2d-fast": "corr2d_fast", "convolve2d": "convolve2d"}
    return Wrong(exercise, {symbol[exercise]: fn}, key, seed)


WRONG = [
    # corr2d
    _c(corr2d_flipped, "flipped_kernel"),
    _c(corr2d_minus_one, "off_by_one"),
    _c(corr2d_loop_short, "off_by_one"),
    _c(corr2d_plus_one, "off_by_one"),
    _c(corr2d_swapped, "swapped_hw"),
    _c(corr2d_square_shape, "square_only"),
    _c(corr2d_square_window, "square_only"),
    _c(corr2d_hardcoded_loops, "hardcoded_example"),
    _c(corr2d_hardcoded_answer, "hardcoded_example"),
    _c(corr2d_int, "int_truncation"),
    _c(corr2d_in_place, "modified_input"),
    _c(corr2d_conv2d, "library_conv"),
    _c(corr2d_nn_conv, "library_conv"),
    _c(corr2d_scipy, "library_conv"),
    _c(corr2d_numpy, "not_a_tensor"),
    _c(corr2d_list, "not_a_tensor"),
    _c(corr2d_meta, "wrong_device"),
    _c(corr2d_item, "breaks_autograd"),
    _c(corr2d_detach, "breaks_autograd"),
    _c(corr2d_numpy_round_trip, "breaks_autograd"),
    _c(corr2d_no_grad, "breaks_autograd"),
    _c(corr2d_nan, "nan_output"),
    _c(corr2d_no_return, "returned_none"),
    _c(corr2d_d2l, "shipped_code"),
    _c(corr2d_course, "shipped_code"),
    _c(corr2d_oracle, "shipped_code"),
    _c(corr2d_profile_off, "recorder_tampered"),
    _c(corr2d_d2l, "shipped_code", seed=7),
    _c(corr2d_flipped, "flipped_kernel", seed=7),
    _c(corr2d_square_window, "square_only", seed=7),
    _c(corr2d_hardcoded_loops, "hardcoded_example", seed=7),
    # corr2d_fast
    _c(corr2d_full, "padded_output", "corr2d-fast"),
    _c(corr2d_fast_convolve, "flipped_kernel", "corr2d-fast"),
    _c(corr2d_conv2d, "library_conv", "corr2d-fast"),
    _c(corr2d_scipy, "library_conv", "corr2d-fast"),
    _c(corr2d_int, "int_truncation", "corr2d-fast", seed=3),
    # convolve2d
    _c(convolve2d_not_flipped, "not_flipped", "convolve2d"),
    _c(convolve2d_one_axis, "flipped_one_axis", "convolve2d"),
    _c(convolve2d_transposed, "transposed_kernel", "convolve2d"),
    _c(convolve2d_scipy, "library_conv", "convolve2d"),
    # output_shape
    Wrong("output-shape", {"output_shape": output_shape_minus}, "off_by_one"),
    Wrong("output-shape", {"output_shape": output_shape_plus}, "off_by_one"),
    Wrong("output-shape", {"output_shape": output_shape_swapped}, "swapped_hw"),
    Wrong("output-shape", {"output_shape": output_shape_square}, "square_only"),
    Wrong("output-shape", {"output_shape": output_shape_hardcoded}, "hardcoded_example"),
    Wrong("output-shape", {"output_shape": output_shape_floats}, "wrong_type"),
    Wrong("output-shape", {"output_shape": output_shape_tensor}, "wrong_type"),
    Wrong("output-shape", {"output_shape": output_shape_same}, "padded_output"),
    # kernel_matrix
    Wrong("corr2d-matmul", {"kernel_matrix": kernel_matrix_flipped}, "flipped_kernel"),
    Wrong("corr2d-matmul", {"kernel_matrix": kernel_matrix_transposed}, "transposed_matrix"),
    Wrong("corr2d-matmul", {"kernel_matrix": kernel_matrix_column_major}, "flatten_order"),
    Wrong("corr2d-matmul", {"kernel_matrix": kernel_matrix_int}, "int_truncation", seed=5),
    Wrong("corr2d-matmul", {"kernel_matrix": kernel_matrix_checks_helper}, "shipped_code"),
    # lesson 01
    Wrong(
        "param-counts",
        {"dense_param_count": dense_param_count_bias, "local_param_count": local_param_count},
        "counted_bias",
    ),
    Wrong(
        "param-counts",
        {"dense_param_count": dense_param_count_added, "local_param_count": local_param_count},
        "dense_count",
    ),
    Wrong(
        "param-counts",
        {"dense_param_count": dense_param_count, "local_param_count": local_param_count_2delta},
        "window_side",
    ),
    Wrong(
        "param-counts",
        {"dense_param_count": dense_param_count, "local_param_count": local_param_count_1d},
        "window_side",
    ),
    Wrong("dense-layer", {"dense_layer": dense_layer_no_bias}, "missing_bias"),
    Wrong("dense-layer", {"dense_layer": dense_layer_swapped}, "weight_index_order"),
    Wrong("dense-layer", {"dense_layer": dense_layer_in_place}, "modified_input"),
    Wrong("dense-weight", {"dense_weight_from_kernel": dense_weight_minus}, "index_mapping"),
    Wrong(
        "dense-weight", {"dense_weight_from_kernel": dense_weight_minus}, "index_mapping", seed=11
    ),
    Wrong("dense-weight", {"dense_weight_from_kernel": dense_weight_all_units}, "padded_output"),
    # lesson 03
    Wrong("conv2d-layer", {"Conv2D": Conv2DNoBias}, "missing_bias"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DForgetsBias}, "missing_bias"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DBiasShape}, "bias_shape"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DPlainTensors}, "not_parameter"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DNamedKernel}, "parameter_name"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DItem}, "breaks_autograd"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DNoGrad}, "breaks_autograd"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DLibrary}, "library_conv"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DSubclass}, "library_conv"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DFlipped}, "flipped_kernel"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DSwapped}, "swapped_hw"),
    Wrong("conv2d-layer", {"Conv2D": Conv2DSquare}, "square_only"),
    Wrong("kernel-grad", {"kernel_grad": kernel_grad_autograd}, "used_autograd"),
    Wrong("kernel-grad", {"kernel_grad": kernel_grad_flipped}, "flipped_kernel"),
    # lesson 04
    Wrong("horizontal-kernel", {"K_horizontal": K_vertical}, "wrong_orientation"),
    Wrong("horizontal-kernel", {"K_horizontal": K_flat}, "nonzero_on_flat"),
    Wrong("horizontal-kernel", {"K_horizontal": K_one_d}, "kernel_1d"),
    Wrong("horizontal-kernel", {"K_horizontal": K_zero}, "blind_to_edges"),
    Wrong("horizontal-kernel", {"K_horizontal": K_diagonal}, "both_orientations"),
    Wrong("horizontal-kernel", {"K_horizontal": K_list}, "not_a_tensor"),
    Wrong(
        "directional-kernel", {"directional_edge_kernel": directional_across}, "wrong_orientation"
    ),
    Wrong("directional-kernel", {"directional_edge_kernel": directional_xy}, "swapped_hw"),
    Wrong("directional-kernel", {"directional_edge_kernel": directional_sum}, "nonzero_on_flat"),
    Wrong("directional-kernel", {"directional_edge_kernel": directional_zero}, "blind_to_edges"),
    Wrong(
        "second-derivative",
        {"second_derivative_kernel": second_first_derivative},
        "first_derivative",
    ),
    Wrong("second-derivative", {"second_derivative_kernel": second_vertical}, "wrong_orientation"),
    Wrong("second-derivative", {"second_derivative_kernel": second_big}, "not_smallest"),
    Wrong("second-derivative", {"second_derivative_kernel": second_sign}, "wrong_scale"),
    Wrong("second-derivative", {"second_derivative_kernel": second_one_d}, "kernel_1d"),
    Wrong("second-derivative", {"second_derivative_kernel": second_flat}, "nonzero_on_flat"),
    Wrong("blur-kernel", {"blur_kernel": blur_ones}, "not_normalized"),
    Wrong("blur-kernel", {"blur_kernel": blur_negative}, "negative_weights"),
    Wrong("blur-kernel", {"blur_kernel": blur_identity}, "one_hot_kernel"),
    Wrong("blur-kernel", {"blur_kernel": blur_int}, "int_truncation"),
    Wrong("blur-kernel", {"blur_kernel": blur_fixed}, "ignores_argument"),
    Wrong("blur-kernel", {"blur_kernel": blur_gallery_gaussian}, "shipped_code"),
    Wrong("min-kernel-size", {"min_kernel_size": min_kernel_size_d}, "too_few_points"),
    Wrong("min-kernel-size", {"min_kernel_size": min_kernel_size_centred}, "centred_window"),
    Wrong("min-kernel-size", {"min_kernel_size": min_kernel_size_text}, "wrong_type"),
    # lesson 05
    Wrong("train-loop", {"train_kernel": train_no_zero}, "no_zero_grad"),
    Wrong("train-loop", {"train_kernel": train_uphill}, "wrong_direction"),
    Wrong("train-loop", {"train_kernel": train_big_step}, "diverges"),
    Wrong("train-loop", {"train_kernel": train_mean}, "mean_instead_of_sum"),
    Wrong("train-loop", {"train_kernel": train_own_lr}, "ignores_lr"),
    Wrong("train-loop", {"train_kernel": train_random_init}, "ignores_init"),
    Wrong("train-loop", {"train_kernel": train_extra_epoch}, "wrong_epoch_count"),
    Wrong("train-loop", {"train_kernel": train_in_place}, "modified_input"),
    Wrong("train-loop", {"train_kernel": train_item_corr}, "breaks_autograd"),
    Wrong("train-loop", {"train_kernel": train_no_zero}, "no_zero_grad", seed=4),
    Wrong("recover-kernel", {"recover_kernel": recover_flipped}, "flipped_kernel", seed=2),
    Wrong("recover-kernel", {"recover_kernel": recover_short}, "not_converged"),
    Wrong("recover-kernel", {"recover_kernel": recover_diverges}, "diverges"),
    Wrong("recover-kernel", {"recover_kernel": recover_lesson_kernel}, "hardcoded_example", seed=2),
    Wrong("recover-kernel", {"recover_kernel": recover_transposed}, "swapped_hw"),
    Wrong("recover-kernel", {"recover_kernel": recover_4d}, "wrong_shape"),
]

# The exercises added to lessons 03-05 keep their answers in a module of their own.
from impls_lessons345 import WRONG_LESSONS345  # noqa: E402

WRONG += [Wrong(*row) for row in WRONG_LESSONS345]

# Lessons 1 and 2's channel and signal exercises keep their answers in modules of their own.
from checks_impls_channels import WRONG as _CHANNELS_WRONG  # noqa: E402
from checks_impls_signals import WRONG as _SIGNALS_WRONG  # noqa: E402

WRONG += [Wrong(*row) for row in (*_CHANNELS_WRONG, *_SIGNALS_WRONG)]
