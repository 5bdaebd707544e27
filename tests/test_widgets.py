"""The explorers of convcourse.widgets: static figures for headless runs, live widgets otherwise."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
from nbclient import NotebookClient

from convcourse import images, kernels, widgets
from convcourse.instructor.reference.corr import corr2d

KERNEL = "python3"  # the test's own interpreter; the course kernel is checked by the browser test

# One notebook cell per explorer, then one with widgets forced on, as a lesson would call them.
CELLS = [
    "from convcourse.widgets import sliding_window, kernel_explorer, locality_explorer",
    "sliding_window()",
    "from convcourse import images\nkernel_explorer(images.photograph(64))",
    "locality_explorer((7, 7))",
    "import os\nos.environ['CONVCOURSE_STATIC'] = '0'\nsliding_window()",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _mimetypes(outputs) -> list[str]:
    return [m for out in outputs for m in out.get("data", {})]


@pytest.fixture
def interactive(monkeypatch):
    """Widgets forced on, as in JupyterLab, drawn with Agg; no figure may be left open."""
    monkeypatch.setenv(widgets.STATIC_ENV, "0")
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "an explorer left figures open"


# --- the headless rule --------------------------------------------------------------------------


def test_import_is_cheap():
    code = (
        "import sys, convcourse.widgets\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'ipywidgets', 'IPython') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("value", "static"), [("1", True), ("true", True), ("0", False), ("no", False)]
)
def test_environment_variable_decides(monkeypatch, value, static):
    monkeypatch.setenv(widgets.STATIC_ENV, value)
    assert widgets.is_static() is static


def test_bad_environment_variable_is_named(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "sometimes")
    with pytest.raises(ValueError, match="CONVCOURSE_STATIC must be 1 .* got 'sometimes'"):
        widgets.is_static()


def test_static_outside_a_kernel(monkeypatch):
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    assert widgets.is_static()


def test_nbclient_run_is_static_and_does_not_block(monkeypatch):
    """nbclient (as nbgrader and nbval use it) gets static PNG figures and no widgets, even when
    started from inside a JupyterLab kernel, whose JPY_SESSION_NAME it inherits."""
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "/somewhere/lesson.ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name=KERNEL).execute()

    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    per_cell = [_mimetypes(c.outputs) for c in nb.cells]
    assert per_cell[1].count("image/png") == 2  # first and last window
    assert per_cell[2].count("image/png") == 1  # the whole gallery ...
    text = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "sobel_x (3x3): its entries sum to 0" in text  # ... and every kernel's values
    assert "[ 2   0  -2]" in text
    assert per_cell[3].count("image/png") == 2  # Δ = 1 and Δ = 2
    assert all(WIDGET_VIEW not in mimes for mimes in per_cell[:4])
    # CONVCOURSE_STATIC=0 overrides the rule: a widget, no static figure.
    assert WIDGET_VIEW in per_cell[4] and "image/png" not in per_cell[4]


def test_frontend_that_allows_stdin_gets_widgets(monkeypatch):
    """A cell run the way JupyterLab runs it (execute_request with allow_stdin=True) gets a
    widget; the same kernel asked the nbclient way (allow_stdin=False) gets static figures."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    km, kc = start_new_kernel(kernel_name=KERNEL)
    try:

        def run(code: str, allow_stdin: bool) -> list[str]:
            outputs = []
            reply = kc.execute_interactive(
                code,
                allow_stdin=allow_stdin,
                timeout=120,
                output_hook=lambda msg: outputs.append(msg),
                stdin_hook=lambda msg: pytest.fail("the explorer asked for input"),
            )
            assert reply["content"]["status"] == "ok", reply["content"]
            # display_data from the explorer, execute_result from the cell's value
            return [
                m
                for msg in outputs
                if msg["msg_type"] in ("display_data", "execute_result")
                for m in msg["content"]["data"]
            ]

        assert run("from convcourse.widgets import sliding_window", True) == []
        # The explorer, the last expression of the cell, is shown once, not twice.
        lab = run("sliding_window()", allow_stdin=True)
        assert lab.count(WIDGET_VIEW) == 1 and "image/png" not in lab
        headless = run("sliding_window()", allow_stdin=False)
        assert headless.count("image/png") == 2 and WIDGET_VIEW not in headless
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# --- static mode in this process ----------------------------------------------------------------


def test_static_mode_returns_none_and_closes_its_figures(monkeypatch, capsys):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    plt.close("all")
    assert widgets.sliding_window(images.edge_image(), kernels.kernel("edge_vertical")) is None
    assert widgets.kernel_explorer(images.checkerboard(16)) is None
    assert widgets.locality_explorer((3, 3)) is None  # only Δ = 0 and 1 fit: no Δ = 2
    out = capsys.readouterr().out
    assert "Y[0, 0] = 0: the 1x2 window" in out and "Y[5, 6] = 0" in out
    assert "Δ = 1: hidden unit (0, 0) reads the 3x3 = 9 input pixels" in out
    assert "Δ = 2" not in out
    assert plt.get_fignums() == []


# --- interactive mode: the widget tree and its observers ----------------------------------------


def _parts(box):
    heading, controls, *rest = box.children
    return heading, list(controls.children), rest


def test_sliding_window_redraws_when_a_slider_moves(interactive):
    X, K = torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    box = widgets.sliding_window(X, K)
    _, (row, col), (figure,) = _parts(box)
    assert (row.max, col.max) == (1, 1) and row.description == "row i"
    first = figure.value
    assert first.startswith('<figure style="margin: 0"><img src="data:image/png;base64,')
    assert 'alt="Three matrices with their values' in first
    assert "Y[0, 0] = 19:" in first

    Y = corr2d(X, K)
    for i, j in [(1, 0), (1, 1), (0, 1)]:
        row.value, col.value = i, j
        assert f"Y[{i}, {j}] = {Y[i, j]:.0f}:" in figure.value
        assert f"cell ({i}, {j}) outlined" in figure.value
    assert figure.value != first


def test_sliding_window_default_is_d2l_example_and_one_row_outputs_disable_a_slider(interactive):
    box = widgets.sliding_window()
    assert "Y[0, 0] = 19:" in box.children[-1].value
    box = widgets.sliding_window(torch.ones(2, 5), torch.ones(2, 2))
    _, (row, col), _ = _parts(box)
    assert row.disabled and not col.disabled and col.max == 3


def test_kernel_explorer_shows_the_chosen_kernel(interactive):
    box = widgets.kernel_explorer(images.checkerboard(16, 4))
    _, (menu, _typed), (values, figure) = _parts(box)
    assert list(menu.options) == list(kernels.KERNEL_NAMES)
    before = figure.value
    menu.value = "laplacian"
    assert "laplacian (3x3): its entries sum to 0" in values.value
    assert values.value.count("<tr>") == 3 and ">-4</td>" in values.value
    assert "corr2d(image, kernel) of shape (14, 14)" in figure.value
    assert figure.value != before
    menu.value = "gaussian_blur"
    assert "sum to 1, so flat regions keep their brightness" in values.value
    assert values.value.count("<tr>") == 5 and "(12, 12)" in figure.value


def test_locality_explorer_follows_delta_and_unit(interactive):
    box = widgets.locality_explorer((9, 9))
    _, (delta, unit_row, unit_col), (figure,) = _parts(box)
    assert (delta.value, delta.max) == (1, 4)
    assert (unit_row.max, unit_row.value) == (6, 3)
    assert "Δ = 1: hidden unit (3, 3)" in figure.value

    delta.value = 3  # 3x3 hidden units remain: the unit sliders shrink and recentre
    assert (unit_row.max, unit_col.max, unit_row.value, unit_col.value) == (2, 2, 1, 1)
    assert "Δ = 3: hidden unit (1, 1) reads the 7x7 = 49 input pixels" in figure.value
    assert "keeps 441 of the 729 weights" in figure.value

    unit_col.value = 2
    assert "hidden unit (1, 2) reads" in figure.value and "around pixel (4, 5)" in figure.value
    delta.value = 0
    assert (unit_row.max, unit_row.value) == (8, 4)


def test_explorer_is_displayed_once(interactive, monkeypatch):
    # Record what reaches IPython's display: how it prints depends on whether some earlier test
    # left an InteractiveShell behind, so look at the call instead of the printed text.
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    box = widgets.sliding_window()
    assert len(shown) == 1 and WIDGET_VIEW in shown[0]  # displayed on creation
    box._ipython_display_()  # what IPython calls to show the cell's result: nothing more
    assert len(shown) == 1


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: widgets.sliding_window(torch.ones(3, 3)), ValueError, "pass both X and K"),
        (
            lambda: widgets.sliding_window(torch.ones(3), torch.ones(2, 2)),
            ValueError,
            r"X must be a non-empty 2-D matrix, got shape \(3,\)",
        ),
        (
            lambda: widgets.sliding_window(torch.ones(2, 2), torch.ones(3, 3)),
            ValueError,
            r"no valid output for input \(2, 2\) and kernel \(3, 3\)",
        ),
        (
            lambda: widgets.kernel_explorer(torch.ones(3, 8, 8)),
            ValueError,
            r"image must be a non-empty 2-D matrix, got shape \(3, 8, 8\)",
        ),
        (
            lambda: widgets.kernel_explorer(torch.ones(4, 40)),
            ValueError,
            r"smaller than the largest kernel \(5x5\)",
        ),
        (lambda: widgets.kernel_explorer("photo"), TypeError, "image must be a 2-D tensor"),
        (lambda: widgets.locality_explorer(7), ValueError, "input_shape must be"),
        (lambda: widgets.locality_explorer((7, 0)), ValueError, "two positive ints"),
        (lambda: widgets.locality_explorer((7.0, 7)), ValueError, "two positive ints"),
    ],
)
def test_bad_input_is_named(monkeypatch, call, error, message):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    with pytest.raises(error, match=message):
        call()


# --- the learning-rate explorer -----------------------------------------------------------------


def test_lr_explorer_runs_gradient_descent_on_the_summed_squared_error():
    # The explorer's closed-form steps are autograd's steps on sum((X ⋆ K - Y)^2), loss by loss.
    X, K = images.edge_image(), torch.tensor([[1.0, -1.0]])
    Y, K0 = corr2d(X, K), torch.tensor([[0.0, 0.5]])
    k = K0.double().requires_grad_(True)
    expected = []
    for _ in range(6):
        loss = ((corr2d(X.double(), k) - Y.double()) ** 2).sum()
        expected.append(loss.item())
        (grad,) = torch.autograd.grad(loss, k)
        k = (k - 0.03 * grad).detach().requires_grad_(True)
    assert widgets._descent_losses(X, Y, K0, 0.03, 6) == pytest.approx(expected, rel=1e-9)


def test_lr_explorer_static_compares_a_converging_and_a_diverging_rate(monkeypatch, capsys):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    plt.close("all")
    assert widgets.lr_explorer() is None  # lesson 5's problem: the limit is 1/30
    out = capsys.readouterr().out
    assert "lr = 0.03: the loss goes from 22.5 to" in out and "steps; it shrinks." in out
    assert "lr = 0.034: the loss goes from 22.5 to" in out and "steps; it grows." in out
    assert plt.get_fignums() == []


def test_lr_explorer_slider_redraws_the_loss(interactive):
    box = widgets.lr_explorer(steps=30)
    _, (slider,), (figure,) = _parts(box)
    assert slider.value == pytest.approx(0.03) and slider.min < 0.03 < 0.034 < slider.max
    assert "lr = 0.03:" in figure.value and "in 30 steps; it shrinks." in figure.value
    slider.value = 0.034
    assert "lr = 0.034:" in figure.value and "it grows." in figure.value


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lrs": ()}, "lrs must be a sequence of positive numbers"),
        ({"lrs": (0.03, -1)}, "lrs must be a sequence of positive numbers"),
        ({"lrs": "fast"}, "lrs must be a sequence of positive numbers"),
        ({"steps": 0}, "steps must be a positive int"),
        ({"K": torch.ones(7, 2)}, "larger than the image"),
        ({"K_init": torch.zeros(2, 2)}, "K_init has shape"),
    ],
)
def test_lr_explorer_names_bad_input(monkeypatch, kwargs, message):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    with pytest.raises(ValueError, match=message):
        widgets.lr_explorer(**kwargs)


# --- a kernel of the student's own in the kernel explorer ---------------------------------------


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("[[1, -1]]", [[1.0, -1.0]]),
        ("[1, -1]", [[1.0, -1.0]]),
        ("1 0 -1; 2 0 -2", [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0]]),
        (" 0.5, 0.5 ; 0.5,0.5 ", [[0.5, 0.5], [0.5, 0.5]]),
        ("[[1], [-1]]", [[1.0], [-1.0]]),
    ],
)
def test_parse_kernel_reads_lists_and_rows(text, rows):
    assert torch.equal(widgets.parse_kernel(text), torch.tensor(rows))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the kernel is empty"),
        ("[]", "no numbers"),
        ("[[1, -1], [2]]", "the rows have different lengths"),
        ("1 -1; 2", "the rows have different lengths"),
        ("1 x", "'x' is not a number"),
        ("[[1, -1]", "is not a list of rows"),
        ("1 nan", "is not a finite number"),
        ("[[True, 1]]", "is not a finite number"),
    ],
)
def test_parse_kernel_names_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        widgets.parse_kernel(text)


def test_kernel_explorer_shows_a_typed_kernel_and_names_a_malformed_one(interactive):
    box = widgets.kernel_explorer(images.checkerboard(16, 4))
    _, (menu, typed), (values, figure) = _parts(box)
    typed.value = "1 0 -1"
    assert "your kernel (1x3): its entries sum to 0" in values.value
    assert "corr2d(image, kernel) of shape (16, 14)" in figure.value
    shown = figure.value
    typed.value = "1 0; 1"
    assert "Could not use the kernel:" in values.value and "different lengths" in values.value
    assert figure.value == shown, "the last good figure stays"
    typed.value = "[[1] * 17]"
    assert "is not a list of rows" in values.value
    typed.value = " ".join(["1"] * 17)
    assert "larger than the image (16x16)" in values.value
    menu.value = "laplacian"  # the menu takes over again
    assert typed.value == "" and "laplacian (3x3)" in values.value
