"""Student answers to lesson 2's ``corr1d(x, k)`` and ``convolve1d(f, g)``: correct ones in
several styles and deliberately wrong ones, each labelled with the misconception the check must
name.

Nothing here comes from convcourse (the rule "shipped" would flag it)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _dtype(a, b):
    return torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)


# ---------------------------------------------------------------------------------------------
# corr1d: correct answers


def corr1d_loop(x, k):
    """One output per loop step, as corr2d in lesson 2."""
    m = k.shape[0]
    dtype = _dtype(x, k)
    y = torch.zeros(x.shape[0] - m + 1, dtype=dtype)
    for i in range(y.shape[0]):
        y[i] = (x[i : i + m].to(dtype) * k.to(dtype)).sum()
    return y


def corr1d_taps(x, k):
    """One whole-array multiply-add per kernel tap."""
    m = k.shape[0]
    length = x.shape[0] - m + 1
    dtype = _dtype(x, k)
    y = torch.zeros(length, dtype=dtype)
    for a in range(m):
        y = y + k[a].to(dtype) * x[a : a + length].to(dtype)
    return y


def corr1d_unfold(x, k):
    """The windows as rows of a matrix (Tensor.unfold), then one matrix-vector product."""
    dtype = _dtype(x, k)
    return x.to(dtype).unfold(0, k.shape[0], 1) @ k.to(dtype)


# ---------------------------------------------------------------------------------------------
# corr1d: wrong answers


def corr1d_flipped(x, k):
    return corr1d_loop(x, torch.flip(k, (0,)))


def corr1d_short(x, k):
    """``range(n - m)``: the last window is missed."""
    m = k.shape[0]
    y = torch.zeros(x.shape[0] - m)
    for i in range(y.shape[0]):
        y[i] = (x[i : i + m] * k).sum()
    return y


def corr1d_same(x, k):
    """As long as the signal: windows cut short at the end count what is left."""
    m = k.shape[0]
    y = torch.zeros(x.shape[0], dtype=_dtype(x, k))
    for i in range(x.shape[0]):
        window = x[i : i + m]
        y[i] = (window * k[: window.shape[0]]).sum()
    return y


def corr1d_int(x, k):
    """The result in the signal's dtype: fractions cut off for an integer signal."""
    y = torch.zeros(x.shape[0] - k.shape[0] + 1, dtype=x.dtype)
    for i in range(y.shape[0]):
        y[i] = (x[i : i + k.shape[0]] * k).sum()
    return y


def corr1d_conv1d(x, k):
    """F.conv1d: a library correlation (rule library_conv)."""
    dtype = _dtype(x, k)
    return F.conv1d(x.to(dtype)[None, None], k.to(dtype)[None, None])[0, 0]


def corr1d_numpy(x, k):
    """numpy.correlate: a library correlation (rule library_conv)."""
    return torch.as_tensor(np.correlate(x.double().numpy(), k.double().numpy(), mode="valid"))


def corr1d_hardcoded(x, k):
    return torch.tensor([2.0, 5.0, 8.0, 11.0, 14.0])


# ---------------------------------------------------------------------------------------------
# convolve1d: correct answers


def convolve1d_scatter(f, g):
    """Each f[a] adds a scaled copy of g, shifted by a (polynomial multiplication)."""
    n, m = f.shape[0], g.shape[0]
    dtype = _dtype(f, g)
    y = torch.zeros(n + m - 1, dtype=dtype)
    for a in range(n):
        y[a : a + m] += f[a].to(dtype) * g.to(dtype)
    return y


def convolve1d_bounds(f, g):
    """The definition, with both index bounds checked."""
    n, m = f.shape[0], g.shape[0]
    dtype = _dtype(f, g)
    y = torch.zeros(n + m - 1, dtype=dtype)
    for i in range(n + m - 1):
        for a in range(max(0, i - m + 1), min(n, i + 1)):
            y[i] += f[a].to(dtype) * g[i - a].to(dtype)
    return y


def convolve1d_fft(f, g):
    """Pointwise product of the Fourier transforms (torch.fft is allowed)."""
    length = f.shape[0] + g.shape[0] - 1
    F_, G_ = torch.fft.rfft(f.double(), length), torch.fft.rfft(g.double(), length)
    return torch.fft.irfft(F_ * G_, length)


# ---------------------------------------------------------------------------------------------
# convolve1d: wrong answers


def convolve1d_correlation(f, g):
    """g is never reversed: the full cross-correlation."""
    return convolve1d_scatter(f, torch.flip(g, (0,)))


def convolve1d_valid(f, g):
    """Only the shifts where the shorter sequence lies wholly inside the longer one."""
    long, short = (f, g) if f.shape[0] >= g.shape[0] else (g, f)
    return corr1d_loop(long, torch.flip(short, (0,)))


def convolve1d_first_longer(f, g):
    """Assumes that f is at least as long as g: with a shorter f only the shifts where g
    overlaps f from its start are summed (the end of the result stays 0)."""
    n, m = f.shape[0], g.shape[0]
    if n >= m:
        return convolve1d_scatter(f, g)
    y = convolve1d_scatter(f, g)
    y[n:] = 0
    return y


def convolve1d_int(f, g):
    """The result in f's dtype: an integer f cuts the fractions off."""
    n, m = f.shape[0], g.shape[0]
    y = torch.zeros(n + m - 1, dtype=f.dtype)
    for i in range(n + m - 1):
        a = torch.arange(max(0, i - m + 1), min(n, i + 1))
        y[i] = (f[a] * g[i - a]).sum()  # a float sum stored into an integer tensor
    return y


def convolve1d_short(f, g):
    """``range(n + m - 2)``: the last overlap is missed."""
    return convolve1d_scatter(f, g)[:-1]


def convolve1d_numpy(f, g):
    """numpy.convolve: a library convolution (rule library_conv)."""
    return torch.as_tensor(np.convolve(f.double().numpy(), g.double().numpy()))


CORR1D_CORRECT = [corr1d_loop, corr1d_taps, corr1d_unfold]
CONVOLVE1D_CORRECT = [convolve1d_scatter, convolve1d_bounds, convolve1d_fft]

#: (exercise id, objects, misconception, hidden seed or None) for the misconception tests.
WRONG = [
    ("corr1d", {"corr1d": corr1d_flipped}, "flipped_kernel", None),
    ("corr1d", {"corr1d": corr1d_short}, "off_by_one", None),
    ("corr1d", {"corr1d": corr1d_same}, "padded_output", None),
    ("corr1d", {"corr1d": corr1d_int}, "int_truncation", None),
    ("corr1d", {"corr1d": corr1d_conv1d}, "library_conv", None),
    ("corr1d", {"corr1d": corr1d_numpy}, "library_conv", None),
    ("corr1d", {"corr1d": corr1d_hardcoded}, "hardcoded_example", None),
    ("corr1d", {"corr1d": corr1d_flipped}, "flipped_kernel", 6),
    ("convolve1d", {"convolve1d": convolve1d_correlation}, "not_flipped", None),
    ("convolve1d", {"convolve1d": convolve1d_valid}, "not_full", None),
    ("convolve1d", {"convolve1d": convolve1d_first_longer}, "order_dependent", None),
    ("convolve1d", {"convolve1d": convolve1d_int}, "int_truncation", None),
    ("convolve1d", {"convolve1d": convolve1d_short}, "off_by_one", None),
    ("convolve1d", {"convolve1d": convolve1d_numpy}, "library_conv", None),
    ("convolve1d", {"convolve1d": convolve1d_first_longer}, "order_dependent", 6),
]
