"""Interactive figures for the lessons, with static figures when nobody can move a slider.

Four explorers, each built on a figure (three of them on ``convcourse.plots``):

- ``sliding_window(X, K)``: sliders for the output cell (i, j); the kernel window over the input
  and the output cell it produces.
- ``kernel_explorer(image)``: a menu of the kernel gallery and a box to type a kernel; the
  kernel's values and its effect on a photograph.
- ``locality_explorer(input_shape)``: sliders for Δ and the hidden unit; which weights a local
  layer may use.
- ``lr_explorer(X, K)``: a slider for the learning rate; the loss of gradient descent, step by
  step, on the problem of learning K from the pair (X, X ⋆ K).

Each one displays itself and returns its ipywidgets container, or, in static mode, displays a few
representative figures and returns ``None``.  Every figure comes with a sentence that says in
words what it shows (an ``alt`` text and a caption), so nothing rides on the picture alone.

When are the figures static?  ``is_static()`` decides, in this order:

1. ``CONVCOURSE_STATIC=1`` forces static figures, ``CONVCOURSE_STATIC=0`` forces widgets.
2. Outside an IPython kernel (a script, pytest) the figures are static.
3. In a kernel, widgets are built only when the cell was run by a front end that lets the kernel
   ask its user for input (``allow_stdin`` in the execute request), as JupyterLab (and Notebook 7,
   which shares its code) does.  The headless runners do not: nbclient (hence ``jupyter nbconvert
   --execute`` and papermill), nbgrader's ``validate``, ``autograde`` and the Validate button, and
   nbval all send ``allow_stdin=False`` (checked for each; tests/test_widgets.py replays both).
   Environment variables such as ``JPY_SESSION_NAME`` (set for JupyterLab's kernels) are not
   used: a runner started from inside a notebook inherits them.  Another front end that renders
   widgets but does not allow input gets static figures unless ``CONVCOURSE_STATIC=0``.

Static mode never waits for anything, so headless execution cannot block on a widget.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import sys

__all__ = [
    "STATIC_ENV",
    "is_static",
    "sliding_window",
    "kernel_explorer",
    "locality_explorer",
    "lr_explorer",
    "parse_kernel",
]

STATIC_ENV = "CONVCOURSE_STATIC"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_DPI = 96


def is_static() -> bool:
    """True when the explorers should show static figures instead of widgets (module docstring)."""
    value = os.environ.get(STATIC_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        raise ValueError(
            f"{STATIC_ENV} must be 1 (static figures) or 0 (widgets), got {value!r}; "
            "unset it to decide automatically"
        )
    return not _frontend_is_interactive()


def _frontend_is_interactive() -> bool:
    """Whether the running cell came from a front end that can ask its user for input."""
    if "IPython" not in sys.modules:  # no kernel without IPython; avoid importing it for nothing
        return False
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:  # a terminal IPython or a plain script: nothing renders widgets
        return False
    try:
        parent = kernel.get_parent("shell")
    except (AttributeError, TypeError):  # ipykernel < 6 keeps the header elsewhere
        return bool(getattr(kernel, "_allow_stdin", False))
    return bool((parent or {}).get("content", {}).get("allow_stdin", False))


# --- helpers shared by the explorers ------------------------------------------------------------


def _png(fig) -> bytes:
    """The figure as PNG bytes; the figure is closed, so it is not drawn a second time."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=_DPI)
    finally:
        plt.close(fig)
    return buf.getvalue()


def _figure_html(png: bytes, alt: str, caption: str) -> str:
    """An accessible ``<figure>``: the image with its alt text and a visible caption."""
    data = base64.b64encode(png).decode("ascii")
    return (
        '<figure style="margin: 0">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        'style="max-width: 100%; height: auto">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _show_static(fig, caption: str) -> None:
    """Print the caption and display the figure as a PNG output (works under any backend)."""
    from IPython.display import Image, display

    print(caption)
    display(Image(data=_png(fig), format="png"))


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.3g}"


def _matrix_text(M) -> str:
    """A small matrix as aligned text rows, for captions and printed output."""
    rows = [[_num(v) for v in row] for row in M.tolist()]
    width = max(len(s) for row in rows for s in row)
    return "\n".join("[" + "  ".join(s.rjust(width) for s in row) + "]" for row in rows)


def _matrix_table(M) -> str:
    """A small matrix as an HTML table (readable by screen readers, unlike numbers in a PNG)."""
    td = '<td style="padding: 2px 8px; text-align: right; font-family: monospace">'
    cells = "".join(
        "<tr>" + "".join(f"{td}{_num(v)}</td>" for v in row) + "</tr>" for row in M.tolist()
    )
    return f'<table style="border-collapse: collapse">{cells}</table>'


def _as_matrix(M, name: str):
    """``M`` as a 2-D float32 tensor, or a ValueError that names it and its shape."""
    import torch

    try:
        T = torch.as_tensor(M, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a 2-D tensor or array of numbers: {err}") from None
    if T.dim() != 2 or T.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 2-D matrix, got shape {tuple(T.shape)}")
    return T


@functools.cache
def _explorer_class():
    """A VBox that is displayed once: the explorer displays itself, and a second display as the
    cell's result would only draw a linked copy of the same sliders."""
    import ipywidgets

    class Explorer(ipywidgets.VBox):
        _shown = False

        def _ipython_display_(self, **kwargs):
            if self._shown:
                return
            self._shown = True
            from IPython.display import display

            display(self._repr_mimebundle_(**kwargs), raw=True)

    return Explorer


def _explorer(title: str, controls: list, figure, extra=None):
    import ipywidgets

    heading = ipywidgets.HTML(f"<b>{html.escape(title)}</b>")
    children = [heading, ipywidgets.HBox(controls), figure]
    if extra is not None:
        children.insert(2, extra)
    box = _explorer_class()(children)
    box._ipython_display_()
    return box


def _drawer(target, draw):
    """An observer that redraws ``target`` (an HTML widget); an error is shown, not swallowed."""

    def redraw(change=None):
        try:
            target.value = draw()
        except Exception as err:  # a callback's exception would only reach the kernel's log
            target.value = f"<pre>could not draw the figure: {html.escape(repr(err))}</pre>"

    return redraw


# --- sliding window -----------------------------------------------------------------------------


def _d2l_example():
    import torch

    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    return X, K


def _window_caption(X, K, i: int, j: int) -> str:
    h, w = K.shape
    value = float((X[i : i + h, j : j + w] * K).sum())
    return (
        f"Y[{i}, {j}] = {_num(value)}: the {h}x{w} window of X whose top-left corner is at row "
        f"{i}, column {j}, multiplied entry by entry with K and summed."
    )


def _window_alt(X, K, i: int, j: int) -> str:
    h, w = K.shape
    return (
        f"Three matrices with their values: the input X ({X.shape[0]}x{X.shape[1]}) with the "
        f"{h}x{w} window at row {i}, column {j} outlined, the kernel K, and the output Y with "
        f"cell ({i}, {j}) outlined."
    )


def sliding_window(X=None, K=None):
    """Slide kernel ``K`` over input ``X`` and watch which output cell each window produces.

    Defaults to d2l's example (a 3x3 input 0..8 and the 2x2 kernel 0..3).  Returns the widget,
    or ``None`` in static mode, where the first and the last window are shown.
    """
    from convcourse.plots import plot_sliding_window

    if X is None and K is None:
        X, K = _d2l_example()
    elif X is None or K is None:
        raise ValueError("pass both X and K, or neither for d2l's example")
    X, K = _as_matrix(X, "X"), _as_matrix(K, "K")
    o_h, o_w = X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1
    if min(K.shape) < 1 or o_h < 1 or o_w < 1:
        raise ValueError(f"no valid output for input {tuple(X.shape)} and kernel {tuple(K.shape)}")

    if is_static():
        for i, j in dict.fromkeys([(0, 0), (o_h - 1, o_w - 1)]):
            _show_static(plot_sliding_window(X, K, i, j), _window_caption(X, K, i, j))
        return None

    import ipywidgets

    row = ipywidgets.IntSlider(
        0, min=0, max=o_h - 1, description="row i", continuous_update=False, disabled=o_h == 1
    )
    col = ipywidgets.IntSlider(
        0, min=0, max=o_w - 1, description="column j", continuous_update=False, disabled=o_w == 1
    )
    figure = ipywidgets.HTML()

    def draw() -> str:
        i, j = row.value, col.value
        png = _png(plot_sliding_window(X, K, i, j))
        return _figure_html(png, _window_alt(X, K, i, j), _window_caption(X, K, i, j))

    redraw = _drawer(figure, draw)
    row.observe(redraw, names="value")
    col.observe(redraw, names="value")
    redraw()
    return _explorer(
        f"Slide the {K.shape[0]}x{K.shape[1]} kernel over the {X.shape[0]}x{X.shape[1]} input: "
        "move the sliders to pick the output cell.",
        [row, col],
        figure,
    )


# --- kernel gallery on a photograph -------------------------------------------------------------


def _kernel_caption(name: str, K) -> str:
    total = float(K.sum())
    if abs(total) < 1e-6:
        effect = "its entries sum to 0, so flat regions give 0 and only changes in brightness show"
    elif abs(total - 1) < 1e-6:
        effect = "its entries sum to 1, so flat regions keep their brightness"
    else:
        effect = f"its entries sum to {_num(total)}, which scales the brightness of flat regions"
    return f"{name} ({K.shape[0]}x{K.shape[1]}): {effect}."


def kernel_explorer(image=None):
    """Pick a kernel of the gallery, or type one, and see its values and its effect on a photograph.

    ``image`` is a 2-D grayscale image (default: ``convcourse.images.photograph()``).  Returns the
    widget, or ``None`` in static mode, where the whole gallery and every kernel's values are shown.
    A typed kernel is read by ``parse_kernel``; a malformed one is named, and the figure stays.
    """
    from convcourse.kernels import KERNEL_NAMES, kernel, kernel_gallery
    from convcourse.plots import plot_kernel_effect, plot_kernel_gallery

    if image is None:
        from convcourse.images import photograph

        image = photograph()
    X = _as_matrix(image, "image")
    gallery = kernel_gallery()
    k_h = max(K.shape[0] for K in gallery.values())
    k_w = max(K.shape[1] for K in gallery.values())
    if X.shape[0] < k_h or X.shape[1] < k_w:
        raise ValueError(
            f"image of shape {tuple(X.shape)} is smaller than the largest kernel ({k_h}x{k_w})"
        )

    if is_static():
        fig = plot_kernel_gallery(X, gallery)
        _show_static(
            fig, f"Every kernel of the gallery applied to a {X.shape[0]}x{X.shape[1]} image."
        )
        for name, K in gallery.items():
            print(f"\n{_kernel_caption(name, K)}\n{_matrix_text(K)}")
        return None

    import ipywidgets

    menu = ipywidgets.Dropdown(
        options=list(KERNEL_NAMES), value=KERNEL_NAMES[0], description="kernel"
    )
    typed = ipywidgets.Text(
        value="",
        placeholder="e.g. [[1, -1]] or 1 0 -1; 2 0 -2",
        description="or type",
        continuous_update=False,
    )
    values = ipywidgets.HTML()
    figure = ipywidgets.HTML()

    def draw() -> str:
        name = menu.value
        if typed.value.strip():
            try:
                K = parse_kernel(typed.value, max_shape=tuple(X.shape))
            except ValueError as err:
                values.value = f"<p><b>Could not use the kernel:</b> {html.escape(str(err))}</p>"
                return figure.value  # keep the last figure
            name = "your kernel"
        else:
            K = kernel(name)
        values.value = (
            f"<p>{html.escape(_kernel_caption(name, K))} Its values:</p>{_matrix_table(K)}"
        )
        png = _png(plot_kernel_effect(X, K, f"kernel {name}"))
        alt = (
            f"The image, the kernel {name} with its values, and corr2d(image, kernel) of shape "
            f"({X.shape[0] - K.shape[0] + 1}, {X.shape[1] - K.shape[1] + 1})."
        )
        return _figure_html(png, alt, f"Left: the image. Middle: {name}. Right: the output.")

    redraw = _drawer(figure, draw)

    def on_menu(change):
        if typed.value:  # a menu choice replaces the typed kernel; clearing it redraws
            typed.value = ""
        else:
            redraw()

    menu.observe(on_menu, names="value")
    typed.observe(redraw, names="value")
    redraw()
    return _explorer(
        "Pick a kernel, or type one (rows of numbers), and see what it does to the photograph.",
        [menu, typed],
        figure,
        extra=values,
    )


_KERNEL_FORMAT = (
    "write it as rows of numbers, either as a nested list, [[1, -1], [1, -1]], or with the rows "
    "separated by ';' and the numbers by spaces or commas, 1 -1; 1 -1"
)


def parse_kernel(text: str, max_shape: tuple[int, int] | None = None):
    """The kernel typed as ``text`` (``[[1, -1]]`` or ``1 -1; 1 -1``), as a 2-D float32 tensor.

    A ValueError says what is wrong with it: no numbers, rows of different lengths, a value that
    is not a finite number, or a kernel larger than ``max_shape`` (the image).
    """
    import ast
    import math

    import torch

    source = text.strip()
    if not source:
        raise ValueError(f"the kernel is empty: {_KERNEL_FORMAT}")
    if source.startswith("["):
        try:
            value = ast.literal_eval(source)
        except (ValueError, SyntaxError):
            raise ValueError(f"{source!r} is not a list of rows: {_KERNEL_FORMAT}") from None
        if isinstance(value, (int, float)) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{source!r} is not a list of rows: {_KERNEL_FORMAT}")
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in value]
        if value and not any(isinstance(r, (list, tuple)) for r in value):
            rows = [list(value)]  # [1, -1]: one row
    else:
        rows = [r.replace(",", " ").split() for r in source.split(";")]
    rows = [r for r in rows if len(r) > 0]
    if not rows:
        raise ValueError(f"the kernel has no numbers: {_KERNEL_FORMAT}")
    lengths = sorted({len(r) for r in rows})
    if len(lengths) > 1:
        raise ValueError(
            f"the rows have different lengths ({', '.join(map(str, lengths))} numbers): "
            "a kernel is a rectangle, every row needs as many numbers"
        )
    numbers = []
    for row in rows:
        for v in row:
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{v!r} is not a number: {_KERNEL_FORMAT}") from None
            if isinstance(v, bool) or not math.isfinite(x):
                raise ValueError(f"{v!r} is not a finite number: {_KERNEL_FORMAT}")
            numbers.append(x)
    K = torch.tensor(numbers, dtype=torch.float32).reshape(len(rows), lengths[0])
    if max_shape is not None and (K.shape[0] > max_shape[0] or K.shape[1] > max_shape[1]):
        raise ValueError(
            f"the kernel ({K.shape[0]}x{K.shape[1]}) is larger than the image "
            f"({max_shape[0]}x{max_shape[1]})"
        )
    return K


# --- locality: which weights a hidden unit may use ----------------------------------------------


def _check_input_shape(input_shape) -> tuple[int, int]:
    try:
        n_h, n_w = input_shape
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be (height, width), got {input_shape!r}") from None
    for n in (n_h, n_w):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"input_shape must be two positive ints, got {input_shape!r}")
    return n_h, n_w


def _locality_caption(input_shape, delta: int, unit) -> str:
    n_h, n_w = input_shape
    m_h, m_w = n_h - 2 * delta, n_w - 2 * delta
    side = 2 * delta + 1
    return (
        f"Δ = {delta}: hidden unit {tuple(unit)} reads the {side}x{side} = {side * side} input "
        f"pixels around pixel ({unit[0] + delta}, {unit[1] + delta}) instead of all {n_h * n_w}. "
        f"Locality keeps {m_h * m_w * side * side} of the {m_h * m_w * n_h * n_w} weights of the "
        f"{m_h}x{m_w} hidden units; translation invariance then shares one kernel of "
        f"{side * side} weights."
    )


def locality_explorer(input_shape=(7, 7)):
    """Change Δ and the hidden unit and see which input pixels a local layer may use.

    Returns the widget, or ``None`` in static mode, where Δ = 1 and Δ = 2 (as far as the input
    allows) are shown for the centre unit.
    """
    from convcourse.plots import plot_weight_pattern

    n_h, n_w = _check_input_shape(input_shape)
    max_delta = (min(n_h, n_w) - 1) // 2

    def centre(delta: int) -> tuple[int, int]:
        return ((n_h - 2 * delta) // 2, (n_w - 2 * delta) // 2)

    if is_static():
        for delta in dict.fromkeys([min(1, max_delta), min(2, max_delta)]):
            unit = centre(delta)
            fig = plot_weight_pattern((n_h, n_w), delta, unit)
            _show_static(fig, _locality_caption((n_h, n_w), delta, unit))
        return None

    import ipywidgets

    start = min(1, max_delta)
    delta_slider = ipywidgets.IntSlider(
        start, min=0, max=max_delta, description="Δ", continuous_update=False
    )
    ui, uj = centre(start)
    unit_row = ipywidgets.IntSlider(
        ui, min=0, max=n_h - 2 * start - 1, description="unit row i", continuous_update=False
    )
    unit_col = ipywidgets.IntSlider(
        uj, min=0, max=n_w - 2 * start - 1, description="unit col j", continuous_update=False
    )
    figure = ipywidgets.HTML()

    def draw() -> str:
        delta, unit = delta_slider.value, (unit_row.value, unit_col.value)
        png = _png(plot_weight_pattern((n_h, n_w), delta, unit))
        alt = (
            f"Three panels for a {n_h}x{n_w} input: all pixels used by a dense unit; the "
            f"{2 * delta + 1}x{2 * delta + 1} pixels used by local unit {unit}; and the whole "
            "weight matrix, banded by locality."
        )
        return _figure_html(png, alt, _locality_caption((n_h, n_w), delta, unit))

    redraw = _drawer(figure, draw)
    moving = []  # non-empty while Δ moves the unit sliders, so they do not each redraw

    def on_delta(change):
        moving.append(True)
        try:
            delta = change["new"]
            # Fewer hidden units fit a larger Δ: shrink the unit sliders and recentre the unit.
            ci, cj = centre(delta)
            # Set the maxima first: a value above the new maximum is clamped, not refused.
            unit_row.max, unit_col.max = n_h - 2 * delta - 1, n_w - 2 * delta - 1
            unit_row.value, unit_col.value = ci, cj
        finally:
            moving.clear()
        redraw()

    def on_unit(change):
        if not moving:
            redraw()

    delta_slider.observe(on_delta, names="value")
    unit_row.observe(on_unit, names="value")
    unit_col.observe(on_unit, names="value")
    redraw()
    return _explorer(
        "Change the radius Δ and the hidden unit: which input pixels may the unit use?",
        [delta_slider, unit_row, unit_col],
        figure,
    )


# --- the learning rate: gradient descent on the squared error -----------------------------------


def _descent_losses(X, Y, K_init, lr: float, steps: int) -> list[float]:
    """The summed squared error of X ⋆ K against Y before each of ``steps`` steps of gradient
    descent from ``K_init``, in float64 (PyTorch's conv2d and autograd; a diverging run is stopped
    once the loss overflows)."""
    import torch
    import torch.nn.functional as F

    image = X.detach().to(torch.float64)[None, None]
    target = Y.detach().to(torch.float64)[None, None]
    weight = K_init.detach().to(torch.float64)[None, None].clone().requires_grad_(True)
    history = []
    for _ in range(steps):
        error = ((F.conv2d(image, weight) - target) ** 2).sum()
        history.append(error.item())
        if not history[-1] < 1e300:
            break
        (slope,) = torch.autograd.grad(error, weight)
        weight = (weight - lr * slope).detach().requires_grad_(True)
    return history


def _lr_caption(lr: float, losses: list[float]) -> str:
    first, last = losses[0], losses[-1]
    trend = "shrinks" if last < first else "grows"
    return (
        f"lr = {lr:.3g}: the loss goes from {first:.3g} to {last:.3g} in {len(losses)} steps; "
        f"it {trend}."
    )


def _plot_losses(curves: dict, steps: int, highlight=None):
    import matplotlib.pyplot as plt

    from convcourse.figure_text import figure_text
    from convcourse.fonts import use_course_fonts

    use_course_fonts()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for lr, losses in curves.items():
        style = {"lw": 2.5} if highlight is None or lr == highlight else {"lw": 1, "ls": "--"}
        ax.plot(range(1, len(losses) + 1), losses, label=f"lr = {lr:.3g}", **style)
    ax.set_yscale("log")
    ax.set_xlim(1, steps)
    ax.set_xlabel(figure_text("step"))
    ax.set_ylabel(figure_text("loss_sse"))
    ax.legend()
    fig.tight_layout()
    return fig


def lr_explorer(X=None, K=None, lrs=(0.03, 0.034), steps: int = 40, K_init=None):
    """Watch the loss of gradient descent on learning ``K`` from the pair (X, X ⋆ K).

    Defaults to lesson 5's problem: the band image, the edge kernel [[1, -1]] and the start
    [[0, 0.5]].  ``lrs`` are the learning rates compared.  Returns the widget (a slider for the
    learning rate, the compared rates drawn dashed), or ``None`` in static mode, where one figure
    shows the loss for every rate of ``lrs``.
    """
    import torch

    from convcourse.oracle import xcorr2d

    if X is None:
        from convcourse.images import edge_image

        X = edge_image()
    X = _as_matrix(X, "X")
    K = _as_matrix([[1.0, -1.0]] if K is None else K, "K")
    K_init = _as_matrix(
        [[0.0] * (K.shape[1] - 1) + [0.5]] * K.shape[0] if K_init is None else K_init, "K_init"
    )
    if K_init.shape != K.shape:
        raise ValueError(
            f"K_init has shape {tuple(K_init.shape)}, K {tuple(K.shape)}: they must agree"
        )
    if K.shape[0] > X.shape[0] or K.shape[1] > X.shape[1]:
        raise ValueError(f"kernel {tuple(K.shape)} is larger than the image {tuple(X.shape)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    try:
        rates = [float(lr) for lr in lrs]
    except (TypeError, ValueError):
        raise ValueError(f"lrs must be a sequence of positive numbers, got {lrs!r}") from None
    if not rates or not all(lr > 0 for lr in rates):
        raise ValueError(f"lrs must be a sequence of positive numbers, got {lrs!r}")
    Y = xcorr2d(X.to(torch.float64), K.to(torch.float64))

    def curve(lr):
        return _descent_losses(X, Y, K_init, lr, steps)

    if is_static():
        curves = {lr: curve(lr) for lr in rates}
        caption = " ".join(_lr_caption(lr, losses) for lr, losses in curves.items())
        _show_static(_plot_losses(curves, steps), caption)
        return None

    import ipywidgets

    top = max(rates) * 1.5
    slider = ipywidgets.FloatSlider(
        rates[0],
        min=top / 100,
        max=top,
        step=top / 400,
        description="lr",
        readout_format=".4f",
        continuous_update=False,
    )
    figure = ipywidgets.HTML()

    def draw() -> str:
        lr = slider.value
        curves = {r: curve(r) for r in rates if r != lr}
        curves[lr] = curve(lr)
        png = _png(_plot_losses(curves, steps, highlight=lr))
        alt = (
            f"The loss (log scale) after each of {steps} steps of gradient descent, for the "
            f"learning rate {lr:.4g} (solid) and the rates {', '.join(f'{r:.3g}' for r in rates)}"
            " (dashed)."
        )
        return _figure_html(png, alt, _lr_caption(lr, curves[lr]))

    slider.observe(_drawer(figure, draw), names="value")
    _drawer(figure, draw)()
    return _explorer(
        "Move the learning rate: when does gradient descent stop converging?", [slider], figure
    )
