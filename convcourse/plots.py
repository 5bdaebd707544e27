"""Figures for the pictures the original notes lost.

Every function returns a matplotlib ``Figure``.  Colour maps are perceptually uniform and
colour-blind safe (``cividis`` for intensities, ``PuOr`` for signed values), and small matrices get
their numbers written in the cells, so no information rides on colour alone.
"""

from __future__ import annotations

import torch

from convcourse.figure_text import figure_text as _t
from convcourse.fonts import use_course_fonts
from convcourse.oracle import xcorr2d

__all__ = [
    "show_matrix",
    "plot_sliding_window",
    "plot_weight_pattern",
    "plot_kernel_effect",
    "plot_kernel_gallery",
]

INTENSITY_CMAP = "cividis"
SIGNED_CMAP = "PuOr"
HIGHLIGHT = "#d55e00"  # vermilion, from the Okabe-Ito colour-blind-safe palette


def _plt():
    import matplotlib.pyplot as plt

    use_course_fonts()  # Chinese figure text (the Chinese edition's) needs a CJK font
    return plt


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2g}"


def _text_colour(rgba) -> str:
    """Black or white, whichever contrasts more with a cell of colour ``rgba`` (WCAG luminance)."""
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "white"


def show_matrix(
    ax,
    M,
    title: str = "",
    annotate: bool | None = None,
    signed: bool | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw matrix ``M`` on ``ax`` with its values written in the cells when it is small.

    ``vmin``/``vmax`` fix the colour range of an unsigned matrix (0 and 1 for a mask), so that a
    constant matrix still gets the colour of its value.
    """
    M = torch.as_tensor(M).detach().cpu().to(torch.float32)
    if signed is None:
        signed = bool((M < 0).any())
    if signed:
        bound = float(M.abs().max()) or 1.0
        if M.numel() > 100:  # an image: a few extreme pixels would wash out all the others
            bound = float(M.abs().flatten().quantile(0.99)) or bound
        im = ax.imshow(M.numpy(), cmap=SIGNED_CMAP, vmin=-bound, vmax=bound)
    else:
        im = ax.imshow(M.numpy(), cmap=INTENSITY_CMAP, vmin=vmin, vmax=vmax)
    if annotate is None:
        annotate = M.numel() <= 100
    if annotate:
        for (r, c), v in zip(
            torch.cartesian_prod(torch.arange(M.shape[0]), torch.arange(M.shape[1])).tolist(),
            M.flatten().tolist(),
            strict=True,
        ):
            # The text colour follows the cell's colour, so every number keeps its contrast.
            ax.text(
                c,
                r,
                _fmt(v),
                ha="center",
                va="center",
                fontsize=9,
                color=_text_colour(im.cmap(im.norm(v))),
            )
    ax.set_title(title)
    ax.set_xticks(range(M.shape[1]) if M.shape[1] <= 16 else [])
    ax.set_yticks(range(M.shape[0]) if M.shape[0] <= 16 else [])
    return im


def _factor(v: float) -> str:
    """A factor of a product, in brackets when negative: ``2·(-1)`` rather than ``2·-1``."""
    return f"({_fmt(v)})" if v < 0 else _fmt(v)


def _box(ax, row: int, col: int, h: int, w: int, **kw):
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle((col - 0.5, row - 0.5), w, h, fill=False, lw=3, edgecolor=HIGHLIGHT, **kw)
    )


def _local_mask(input_shape, delta: int) -> torch.Tensor:
    """Boolean (m_h, m_w, n_h, n_w): which input pixels (k, l) hidden unit (i, j) of a local
    layer with radius Δ reads (unit (i, j) is centred on pixel (i + Δ, j + Δ))."""
    n_h, n_w = input_shape
    m_h, m_w = n_h - 2 * delta, n_w - 2 * delta
    if m_h < 1 or m_w < 1:
        raise ValueError(
            f"an input of shape {(n_h, n_w)} has no pixel with a full Δ={delta} window"
        )
    rows = torch.arange(n_h).reshape(1, -1) - torch.arange(m_h).reshape(-1, 1)  # k - i
    cols = torch.arange(n_w).reshape(1, -1) - torch.arange(m_w).reshape(-1, 1)  # l - j
    in_rows = (rows >= 0) & (rows <= 2 * delta)
    in_cols = (cols >= 0) & (cols <= 2 * delta)
    return in_rows[:, None, :, None] & in_cols[None, :, None, :]


def plot_sliding_window(X, K, i: int, j: int):
    """The kernel over the window of ``X`` at (i, j) and the output cell it produces."""
    X, K = torch.as_tensor(X), torch.as_tensor(K)
    Y = xcorr2d(X.to(torch.float32), K.to(torch.float32)).to(torch.float32)
    o_h, o_w = Y.shape
    if not (0 <= i < o_h and 0 <= j < o_w):
        raise ValueError(f"(i, j) = ({i}, {j}) is outside the {o_h}x{o_w} output")
    h, w = K.shape
    plt = _plt()
    fig, axes = plt.subplots(
        1, 3, figsize=(10, 3.4), gridspec_kw={"width_ratios": [X.shape[1], K.shape[1] + 1, o_w]}
    )
    show_matrix(axes[0], X, _t("input"))
    _box(axes[0], i, j, h, w)
    show_matrix(axes[1], K, _t("kernel"))
    show_matrix(axes[2], Y, _t("output_shape", o_h=o_h, o_w=o_w))
    _box(axes[2], i, j, 1, 1)
    window = X[i : i + h, j : j + w].to(torch.float32)
    terms = " + ".join(
        f"{_factor(a)}·{_factor(b)}"
        for a, b in zip(window.flatten().tolist(), K.flatten().tolist(), strict=True)
    )
    if len(terms) > 70:
        terms = _t("sum_of_products", n=h * w)
    fig.suptitle(f"Y[{i}, {j}] = {terms} = {_fmt(float(Y[i, j]))}")
    fig.tight_layout()
    return fig


def plot_weight_pattern(input_shape=(7, 7), delta: int = 1, unit=None):
    """Which input pixels one hidden unit may use: dense layer versus a local layer of radius Δ.

    Left: a dense unit weighs every pixel.  Middle: a local unit only its (2Δ+1)² neighbourhood.
    Right: the whole 4-D weight flattened to a (hidden units) x (pixels) matrix, which locality
    makes banded and sparse.
    """
    n_h, n_w = input_shape
    mask = _local_mask(input_shape, delta)
    m_h, m_w = mask.shape[:2]
    if unit is None:
        unit = (m_h // 2, m_w // 2)
    ui, uj = unit
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    show_matrix(
        axes[0],
        torch.ones(input_shape),
        _t("dense_unit", unit=unit, n=n_h * n_w),
        annotate=False,
        vmin=0,
        vmax=1,
    )
    show_matrix(
        axes[1],
        mask[ui, uj].to(torch.float32),
        _t("local_unit", delta=delta, n=(2 * delta + 1) ** 2),
        annotate=False,
        vmin=0,
        vmax=1,
    )
    for ax in axes[:2]:
        ax.set_xlabel(_t("input_column"))
        ax.set_ylabel(_t("input_row"))
    _box(axes[1], ui, uj, 2 * delta + 1, 2 * delta + 1)
    axes[1].plot(uj + delta, ui + delta, marker="x", color=HIGHLIGHT, ms=10, mew=3)
    axes[2].imshow(
        mask.reshape(m_h * m_w, n_h * n_w).numpy(),
        cmap=INTENSITY_CMAP,
        aspect="auto",
        interpolation="nearest",
        vmin=0,
        vmax=1,
    )
    axes[2].set_title(_t("all_weights", used=int(mask.sum()), total=mask.numel()))
    axes[2].set_xlabel(_t("input_pixel"))
    axes[2].set_ylabel(_t("hidden_unit"))
    # Say in words what the two colours mean, so that the figure does not rely on colour alone.
    from matplotlib.patches import Patch

    cmap = plt.get_cmap(INTENSITY_CMAP)
    used = Patch(facecolor=cmap(1.0), edgecolor="black", label=_t("weight_used"))
    unused = Patch(facecolor=cmap(0.0), edgecolor="black", label=_t("weight_zero"))
    fig.legend(handles=[used, unused], loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def plot_kernel_effect(X, K, title: str = ""):
    """Input image, kernel and ``corr2d(X, K)`` side by side."""
    X, K = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(K, dtype=torch.float32)
    Y = xcorr2d(X, K).to(torch.float32)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 1.2, 3]})
    im_x = show_matrix(axes[0], X, _t("input"))
    show_matrix(axes[1], K, _t("kernel"))
    im_y = show_matrix(axes[2], Y, _t("output_corr", shape=tuple(Y.shape)))
    # Photographs read best in grey, as in plot_kernel_gallery; small matrices keep their colours.
    for im, M in ((im_x, X), (im_y, Y)):
        if M.numel() > 100 and not bool((M < 0).any()):
            im.set_cmap("gray")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_kernel_gallery(X, kernels: dict, ncols: int = 3):
    """Apply each kernel of ``kernels`` (name -> tensor) to image ``X`` and show the results."""
    X = torch.as_tensor(X, dtype=torch.float32)
    plt = _plt()
    n = len(kernels) + 1
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.6 * nrows))
    axes = axes.flatten()
    axes[0].imshow(X.numpy(), cmap="gray")
    axes[0].set_title(_t("original"))
    for ax, (name, K) in zip(axes[1:], kernels.items(), strict=False):
        K = torch.as_tensor(K, dtype=torch.float32)
        Y = xcorr2d(X, K).to(torch.float32)
        # A kernel whose entries sum to 0 (edges, Laplacian) maps flat regions to 0, so its output
        # is signed; the others (blur, sharpen, identity) keep the brightness: show them as photos.
        if abs(float(K.sum())) < 1e-6:
            bound = float(Y.abs().quantile(0.99)) or 1.0
            ax.imshow(Y.detach().numpy(), cmap=SIGNED_CMAP, vmin=-bound, vmax=bound)
        else:
            ax.imshow(Y.detach().numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name} {tuple(torch.as_tensor(K).shape)}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(_t("gallery_legend"))
    fig.tight_layout()
    return fig
