"""Student answers for the exercises added to lessons 03-05 (the input's gradient, the receptive
field, diagonal edges, the kernel of an integral, the largest stable learning rate): correct ones
in several styles, and deliberately wrong ones, each labelled with the misconception the check
must name.  ``WRONG_LESSONS345`` (exercise, objects, key, hidden seed or None) joins
``checks_impls.WRONG``.  Nothing here comes from convcourse or from checks_impls (which imports
this module)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def corr2d_shifts(X, K):
    """One whole-array multiply-add per kernel entry (keeps autograd)."""
    h, w = K.shape
    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
    Y = torch.zeros((o_h, o_w), dtype=torch.promote_types(X.dtype, K.dtype))
    for a in range(h):
        for b in range(w):
            Y = Y + X[a : a + o_h, b : b + o_w] * K[a, b]
    return Y


def corr2d_loop(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


# ---------------------------------------------------------------------------------------------
# Correct answers


def input_grad(dY, K):
    """Scatter: every output (i, j) adds dY[i, j] · K to the window it read."""
    k_h, k_w = K.shape
    o_h, o_w = dY.shape
    dtype = torch.promote_types(torch.promote_types(dY.dtype, K.dtype), torch.float32)
    dX = torch.zeros((o_h + k_h - 1, o_w + k_w - 1), dtype=dtype)
    for i in range(o_h):
        for j in range(o_w):
            dX[i : i + k_h, j : j + k_w] += dY[i, j] * K
    return dX


def input_grad_full_conv(dY, K):
    """The padded dY cross-correlated with the flipped kernel, with F.conv2d (allowed)."""
    k_h, k_w = K.shape
    padded = F.pad(dY.to(torch.float64), (k_w - 1, k_w - 1, k_h - 1, k_h - 1))
    flipped = torch.flip(K.to(torch.float64), (0, 1))
    return F.conv2d(padded[None, None], flipped[None, None])[0, 0]


def input_grad_shifts(dY, K):
    """One whole-array addition per kernel entry."""
    k_h, k_w = K.shape
    o_h, o_w = dY.shape
    dX = torch.zeros((o_h + k_h - 1, o_w + k_w - 1), dtype=torch.float64)
    for a in range(k_h):
        for b in range(k_w):
            dX[a : a + o_h, b : b + o_w] += K[a, b].double() * dY.double()
    return dX


def receptive_field(kernel_shapes):
    r_h = 1 + sum(k_h - 1 for k_h, _ in kernel_shapes)
    r_w = 1 + sum(k_w - 1 for _, k_w in kernel_shapes)
    return (r_h, r_w)


def receptive_field_backwards(kernel_shapes):
    """Walk back from one output pixel, widening the region layer by layer; a list back."""
    size = [1, 1]
    for k_h, k_w in reversed(list(kernel_shapes)):
        size = [size[0] + k_h - 1, size[1] + k_w - 1]
    return size


def receptive_field_by_gradient(kernel_shapes):
    """Measure it: the input pixels whose gradient reaches one output pixel (the lesson's way)."""
    r = receptive_field(kernel_shapes)
    X = torch.ones((r[0] + 2, r[1] + 2), requires_grad=True)
    Y = X
    for shape in kernel_shapes:
        Y = corr2d_shifts(Y, torch.ones(shape))
    Y[0, 0].backward()
    rows, cols = torch.nonzero(X.grad, as_tuple=True)
    return (int(rows.max()) + 1, int(cols.max()) + 1)


def diagonal_edge_responses(n):
    """Built from what the pattern is: −1 on the diagonal, +1 just below or above it."""
    Y = -torch.eye(n, n - 1)
    Y_t = torch.zeros(n, n - 1)
    Y_t[1:, :] = torch.eye(n - 1)
    return Y, Y_t, Y_t.T.contiguous()


def diagonal_edge_loops(n):
    """Worked out with one's own loop correlation (allowed: no library correlation)."""
    i = torch.arange(n).reshape(-1, 1)
    j = torch.arange(n).reshape(1, -1)
    X = (j > i).to(torch.float32)
    K = torch.tensor([[1.0, -1.0]])
    return [corr2d_loop(X, K), corr2d_loop(X.T, K), corr2d_loop(X, K.T)]


def integral_kernel(m, average=False):
    K = torch.ones((1, m))
    return K / m if average else K


def integral_kernel_full(m, average=False):
    return torch.full((1, m), 1.0 / m if average else 1.0, dtype=torch.float64)


def _windows(X, kernel_shape):
    k_h, k_w = kernel_shape
    return X.double().unfold(0, k_h, 1).unfold(1, k_w, 1).reshape(-1, k_h * k_w)


def lr_limit(X, kernel_shape):
    A = _windows(X, kernel_shape)
    return 2 / torch.linalg.eigvalsh(2 * A.T @ A).max().item()


def lr_limit_autograd(X, kernel_shape):
    """The Hessian by autograd (allowed), a 0-d tensor back."""
    Xf = X.double()
    Y = torch.zeros((X.shape[0] - kernel_shape[0] + 1, X.shape[1] - kernel_shape[1] + 1))

    def loss(k):
        return ((F.conv2d(Xf[None, None], k.reshape(1, 1, *kernel_shape))[0, 0] - Y) ** 2).sum()

    H = torch.autograd.functional.hessian(loss, torch.zeros(math.prod(kernel_shape)).double())
    return 2 / torch.linalg.eigvalsh(H).max()


def lr_limit_power(X, kernel_shape):
    """Power iteration on AᵀA: no eigenvalue routine."""
    A = _windows(X, kernel_shape)
    M = A.T @ A
    v = torch.ones(M.shape[0], dtype=torch.float64)
    for _ in range(500):
        v = M @ v
        v = v / v.norm()
    return float(1 / (v @ M @ v))


# ---------------------------------------------------------------------------------------------
# Wrong answers


def input_grad_unflipped(dY, K):
    k_h, k_w = K.shape
    padded = F.pad(dY.double(), (k_w - 1, k_w - 1, k_h - 1, k_h - 1))
    return corr2d_shifts(padded, K.double())


def input_grad_valid(dY, K):
    return corr2d_shifts(dY.double(), torch.flip(K.double(), (0, 1)))


def input_grad_same(dY, K):
    return dY.double() * K.double().sum()


def input_grad_autograd(dY, K):
    X = torch.zeros(
        (dY.shape[0] + K.shape[0] - 1, dY.shape[1] + K.shape[1] - 1),
        dtype=torch.float64,
        requires_grad=True,
    )
    (corr2d_shifts(X, K.double()) * dY.double()).sum().backward()
    return X.grad


def rf_sum(kernel_shapes):
    return (sum(h for h, _ in kernel_shapes), sum(w for _, w in kernel_shapes))


def rf_product(kernel_shapes):
    return (math.prod(h for h, _ in kernel_shapes), math.prod(w for _, w in kernel_shapes))


def rf_last(kernel_shapes):
    return tuple(kernel_shapes[-1])


def rf_minus_one(kernel_shapes):
    r_h, r_w = receptive_field(kernel_shapes)
    return (r_h - 1, r_w - 1)


def rf_swapped(kernel_shapes):
    r_h, r_w = receptive_field(kernel_shapes)
    return (r_w, r_h)


def rf_text(kernel_shapes):
    return "5x5"


def diagonal_sign(n):
    Y, Y_t, Y_kt = diagonal_edge_responses(n)
    return -Y, Y_t, Y_kt


def diagonal_silent(n):
    """The notes' claim: the transposes give no response."""
    Y, Y_t, Y_kt = diagonal_edge_responses(n)
    return Y, torch.zeros_like(Y_t), torch.zeros_like(Y_kt)


def diagonal_swapped(n):
    Y, Y_t, Y_kt = diagonal_edge_responses(n)
    return Y, Y_kt, Y_t


def diagonal_same_size(n):
    return -torch.eye(n), torch.zeros(n, n), torch.zeros(n, n)


def diagonal_library(n):
    i, j = torch.arange(n).reshape(-1, 1), torch.arange(n).reshape(1, -1)
    X = (j > i).to(torch.float32)[None, None]
    K = torch.tensor([[[[1.0, -1.0]]]])
    return (
        F.conv2d(X, K)[0, 0],
        F.conv2d(X.transpose(2, 3), K)[0, 0],
        F.conv2d(X, K.transpose(2, 3))[0, 0],
    )


def diagonal_one_result(n):
    return diagonal_edge_responses(n)[0]


def integral_column(m, average=False):
    return integral_kernel(m, average).T


def integral_square(m, average=False):
    K = torch.ones((m, m))
    return K / m**2 if average else K


def integral_long(m, average=False):
    return integral_kernel(m + 1, average)


def integral_never_averages(m, average=False):
    return torch.ones((1, m))


def integral_trapezoid(m, average=False):
    K = torch.ones((1, m))
    K[0, 0] = K[0, -1] = 0.5
    return K / m if average else K


def lr_limit_one_over(X, kernel_shape):
    A = _windows(X, kernel_shape)
    return 1 / torch.linalg.eigvalsh(2 * A.T @ A).max().item()


def lr_limit_no_two(X, kernel_shape):
    A = _windows(X, kernel_shape)
    return 2 / torch.linalg.eigvalsh(A.T @ A).max().item()


def lr_limit_smallest(X, kernel_shape):
    A = _windows(X, kernel_shape)
    return 2 / torch.linalg.eigvalsh(2 * A.T @ A).min().item()


def lr_limit_mean(X, kernel_shape):
    A = _windows(X, kernel_shape)
    return 2 / torch.linalg.eigvalsh(2 * A.T @ A / A.shape[0]).max().item()


def lr_limit_swapped(X, kernel_shape):
    return lr_limit(X, kernel_shape[::-1])


def lr_limit_list(X, kernel_shape):
    return [lr_limit(X, kernel_shape)]


WRONG_LESSONS345 = [
    ("input-grad", {"input_grad": input_grad_unflipped}, "input_grad_unflipped"),
    ("input-grad", {"input_grad": input_grad_unflipped}, "input_grad_unflipped", 3),
    ("input-grad", {"input_grad": input_grad_valid}, "grad_not_full"),
    ("input-grad", {"input_grad": input_grad_same}, "grad_not_full"),
    ("input-grad", {"input_grad": input_grad_autograd}, "used_autograd"),
    ("receptive-field", {"receptive_field": rf_sum}, "rf_no_overlap"),
    ("receptive-field", {"receptive_field": rf_product}, "rf_multiplies"),
    ("receptive-field", {"receptive_field": rf_last}, "rf_last_layer_only"),
    ("receptive-field", {"receptive_field": rf_minus_one}, "rf_off_by_one"),
    ("receptive-field", {"receptive_field": rf_swapped}, "swapped_hw"),
    ("receptive-field", {"receptive_field": rf_text}, "wrong_type"),
    ("receptive-field", {"receptive_field": rf_sum}, "rf_no_overlap", 5),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_sign}, "edge_sign"),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_silent}, "diagonal_no_response"),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_swapped}, "transposes_confused"),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_same_size}, "padded_output"),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_library}, "library_conv"),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_one_result}, "wrong_type"),
    ("diagonal-edges", {"diagonal_edge_responses": diagonal_sign}, "edge_sign", 6),
    ("integral-kernel", {"integral_kernel": integral_column}, "integral_wrong_axis"),
    ("integral-kernel", {"integral_kernel": integral_square}, "integral_box"),
    ("integral-kernel", {"integral_kernel": integral_long}, "integral_window_length"),
    ("integral-kernel", {"integral_kernel": integral_never_averages}, "integral_scale"),
    ("integral-kernel", {"integral_kernel": integral_trapezoid}, "wrong_values"),
    ("integral-kernel", {"integral_kernel": integral_column}, "integral_wrong_axis", 8),
    ("lr-limit", {"lr_limit": lr_limit_one_over}, "lr_limit_half"),
    ("lr-limit", {"lr_limit": lr_limit_no_two}, "hessian_factor"),
    ("lr-limit", {"lr_limit": lr_limit_smallest}, "lr_smallest_curvature"),
    ("lr-limit", {"lr_limit": lr_limit_mean}, "mean_instead_of_sum"),
    ("lr-limit", {"lr_limit": lr_limit_swapped}, "swapped_hw"),
    ("lr-limit", {"lr_limit": lr_limit_list}, "wrong_type"),
    ("lr-limit", {"lr_limit": lr_limit_no_two}, "hessian_factor", 9),
]

#: Correct answers of every added exercise, by exercise id (each is run on visible and hidden
#: cases by tests/checks/test_checks_lessons345.py).
CORRECT_LESSONS345 = {
    "input-grad": [input_grad, input_grad_full_conv, input_grad_shifts],
    "receptive-field": [receptive_field, receptive_field_backwards, receptive_field_by_gradient],
    "diagonal-edges": [diagonal_edge_responses, diagonal_edge_loops],
    "integral-kernel": [integral_kernel, integral_kernel_full],
    "lr-limit": [lr_limit, lr_limit_autograd, lr_limit_power],
}
