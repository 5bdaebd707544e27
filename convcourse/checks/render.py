"""Showing small matrices as text, and large outputs as a picture (with a text fallback)."""

from __future__ import annotations

import math
import os
import sys
import unicodedata

import torch

from convcourse.checks.messages import t

__all__ = [
    "number",
    "shape_text",
    "matrix_lines",
    "named_block",
    "side_by_side",
    "text_width",
    "value_lines",
    "difference_lines",
    "difference_figure",
    "show_difference",
    "PICTURE_MIN_CELLS",
]

#: Outputs with more cells than this (about 10x10) get a picture in a notebook.
PICTURE_MIN_CELLS = 100
#: Set to 0 to turn pictures off (text only).
ENV_PICTURES = "CONVCOURSE_CHECK_PICTURES"


def number(v) -> str:
    """A compact, readable number: integers without decimals, others with 4 significant digits."""
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v.is_integer() and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.4g}"


def shape_text(shape) -> str:
    """``(3, 4)`` as ``3×4``; a 0-d shape as ``scalar``."""
    shape = tuple(int(s) for s in shape)
    return "×".join(str(s) for s in shape) if shape else t("word.scalar")


def matrix_lines(T, max_rows: int = 8, max_cols: int = 10) -> list[str]:
    """Rows of a 0-, 1- or 2-D tensor as aligned text; large ones are cut with an ellipsis."""
    T = torch.as_tensor(T).detach().to("cpu")
    if T.dim() == 0:
        return [number(T.item())]
    if T.dim() == 1:
        T = T.reshape(1, -1)
    if T.dim() > 2:
        return [t("render.tensor_shape", shape=shape_text(T.shape))]
    rows, cols = T.shape
    if rows == 0 or cols == 0:
        return [t("render.empty", shape=shape_text(T.shape))]
    shown = T[:max_rows, :max_cols].to(torch.float64).tolist()
    cells = [[number(v) for v in row] for row in shown]
    width = max(len(c) for row in cells for c in row)
    lines = [
        " ".join(c.rjust(width) for c in row) + (" …" if cols > max_cols else "") for row in cells
    ]
    if rows > max_rows:
        lines.append("⋮")
    return lines


def value_lines(value) -> list[str]:
    """Lines for any input value of a case: tensors as matrices, lists of tensors, numbers."""
    if isinstance(value, torch.Tensor):
        if value.dim() <= 2 and value.numel() <= 120:
            return matrix_lines(value)
        dtype = str(value.dtype).replace("torch.", "")
        return [t("render.tensor_summary", shape=shape_text(value.shape), dtype=dtype)]
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, torch.Tensor) for v in value)
    ):
        shapes = sorted({shape_text(v.shape) for v in value})
        kind, shown = type(value).__name__, ", ".join(shapes)
        return [t("render.tensor_list", kind=kind, n=len(value), shapes=shown)]
    if isinstance(value, float):
        return [number(value)]
    return [repr(value)]


def named_block(name: str, value) -> list[str]:
    """``name =`` followed by the indented value (or on one line when it is one line)."""
    lines = value_lines(value)
    if len(lines) == 1:
        return [f"{name} = {lines[0]}"]
    return [f"{name} ="] + ["  " + line for line in lines]


def text_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: wide characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def side_by_side(blocks: list[list[str]], gap: int = 4) -> str:
    """Blocks of lines next to each other, top-aligned (by displayed width, so that Chinese
    headings keep the columns below them aligned)."""
    blocks = [b for b in blocks if b]
    if not blocks:
        return ""
    height = max(len(b) for b in blocks)
    widths = [max(text_width(line) for line in b) for b in blocks]
    out = []
    for r in range(height):
        parts = []
        for b, w in zip(blocks, widths, strict=True):
            line = b[r] if r < len(b) else ""
            parts.append(line + " " * (w - text_width(line)))
        out.append((" " * gap).join(parts).rstrip())
    return "\n".join(out)


def difference_lines(expected: torch.Tensor, got: torch.Tensor, window: int = 5) -> list[str]:
    """Text for two same-shape 2-D outputs too large to print whole: where they differ most."""
    E = expected.detach().to(torch.float64)
    G = got.detach().to(torch.float64)
    diff = (G - E).abs().nan_to_num(nan=math.inf)
    wrong = int((diff > 1e-4 * max(1.0, float(E.abs().max()))).sum())
    flat = int(torch.argmax(diff.reshape(-1)))
    i, j = divmod(flat, E.shape[1])
    r0 = max(0, min(i - window // 2, E.shape[0] - window))
    c0 = max(0, min(j - window // 2, E.shape[1] - window))
    sl = (slice(r0, r0 + window), slice(c0, c0 + window))
    return [
        t(
            "render.cells_differ",
            wrong=wrong,
            total=E.numel(),
            i=i,
            j=j,
            expected=number(E[i, j]),
            got=number(G[i, j]),
        ),
        t(
            "render.window",
            r0=r0,
            r1=min(r0 + window, E.shape[0]) - 1,
            c0=c0,
            c1=min(c0 + window, E.shape[1]) - 1,
        ),
        side_by_side(
            [[t("word.expected")] + matrix_lines(E[sl]), [t("word.got")] + matrix_lines(G[sl])],
        ),
    ]


def difference_figure(expected: torch.Tensor, got: torch.Tensor, title: str = ""):
    """A matplotlib Figure: expected, got and (when shapes agree) got − expected."""
    import matplotlib.pyplot as plt

    from convcourse.plots import show_matrix

    E = torch.as_tensor(expected).detach().to("cpu", torch.float32)
    G = torch.as_tensor(got).detach().to("cpu", torch.float32)
    panels = [(t("word.expected"), E, None), (t("word.got"), G, None)]
    if E.shape == G.shape:
        panels.append((t("word.difference"), G - E, True))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    for ax, (name, M, signed) in zip(axes, panels, strict=True):
        show_matrix(ax, M, name, annotate=False, signed=signed)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def show_difference(expected, got, title: str = "") -> bool:
    """Display the picture in a running notebook; False (text only) anywhere else or on error."""
    if os.environ.get(ENV_PICTURES, "1") == "0" or not _in_notebook():
        return False
    if not isinstance(expected, torch.Tensor) or not isinstance(got, torch.Tensor):
        return False
    if (
        expected.dim() != 2
        or got.dim() != 2
        or max(expected.numel(), got.numel()) <= PICTURE_MIN_CELLS
    ):
        return False
    try:
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = difference_figure(expected, got, title)
        display(fig)
        plt.close(fig)
        return True
    except Exception:  # a broken backend must not hide the text message
        return False
