"""What the course must contain, shared by the course tests.

The exercise ids, the names students define and the check functions are fixed by the exercise
contract (EXERCISES.md); the points are the lessons' own choice and are asserted here so that a
change to them is deliberate.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
INDEX = "00_index.ipynb"

# lesson -> {autograded test cell grade id: points}, in notebook order.
TEST_CELLS = {
    "01_dense_to_conv": {
        "test-param-counts": 1,
        "test-dense-layer": 2,
        "test-dense-weight": 3,
        "test-conv1x1": 2,
    },
    "02_cross_correlation": {
        "test-output-shape": 1,
        "test-corr2d": 2,
        "test-convolve2d": 2,
        "test-corr2d-fast": 2,
        "test-corr2d-fast-pass": 1,
        "test-corr2d-fast-full": 1,
        "test-corr2d-matmul": 3,
        "test-corr1d": 2,
        "test-convolve1d": 2,
    },
    "03_conv_layer": {
        "test-conv2d-layer": 2,
        "test-kernel-grad": 3,
        "test-input-grad": 2,
        "test-receptive-field": 2,
    },
    "04_kernels_as_detectors": {
        "test-horizontal-kernel": 1,
        "test-second-derivative": 1,
        "test-min-kernel-size": 1,
        "test-blur-kernel": 2,
        "test-directional-kernel": 3,
        "test-diagonal-edges": 2,
        "test-integral-kernel": 1,
    },
    "05_learning_a_kernel": {"test-train-loop": 3, "test-lr-limit": 2, "test-recover-kernel": 3},
}
# lesson -> {manually graded free-response cell grade id: points}.
FREE_RESPONSE = {
    "01_dense_to_conv": {"fr-translation-invariance": 2, "fr-boundary": 2, "fr-equivariance": 2},
    "02_cross_correlation": {
        "fr-flip": 2,
        "fr-commutative": 2,
        "fr-spectrogram": 2,
        "fr-text": 2,
    },
    "03_conv_layer": {"fr-autograd-loop": 2},
    "04_kernels_as_detectors": {"fr-gallery": 2, "fr-structures": 2},
    "05_learning_a_kernel": {"fr-diverging-lr": 2},
}
# lesson -> {exercise id: (names the student defines, check functions its test cells call)}.
EXERCISES = {
    "01_dense_to_conv": {
        "param-counts": (("dense_param_count", "local_param_count"), ("check_param_counts",)),
        "dense-layer": (("dense_layer",), ("check_dense_layer",)),
        "dense-weight": (("dense_weight_from_kernel",), ("check_dense_weight",)),
        "conv1x1": (("conv1x1",), ("check_conv1x1",)),
    },
    "02_cross_correlation": {
        "output-shape": (("output_shape",), ("check_output_shape",)),
        "corr2d": (("corr2d",), ("check_corr2d",)),
        "convolve2d": (("convolve2d",), ("check_convolve2d",)),
        "corr2d-fast": (("corr2d_fast",), ("check_corr2d_fast", "check_corr2d_speed")),
        "corr2d-matmul": (("kernel_matrix",), ("check_kernel_matrix",)),
        "corr1d": (("corr1d",), ("check_corr1d",)),
        "convolve1d": (("convolve1d",), ("check_convolve1d",)),
    },
    "03_conv_layer": {
        "conv2d-layer": (("Conv2D",), ("check_conv2d_layer",)),
        "kernel-grad": (("kernel_grad",), ("check_kernel_grad",)),
        "input-grad": (("input_grad",), ("check_input_grad",)),
        "receptive-field": (("receptive_field",), ("check_receptive_field",)),
    },
    "04_kernels_as_detectors": {
        "horizontal-kernel": (("K_horizontal",), ("check_horizontal_edge_kernel",)),
        "second-derivative": (("second_derivative_kernel",), ("check_second_derivative_kernel",)),
        "min-kernel-size": (("min_kernel_size",), ("check_min_kernel_size",)),
        "blur-kernel": (("blur_kernel",), ("check_blur_kernel",)),
        "directional-kernel": (("directional_edge_kernel",), ("check_directional_edge_kernel",)),
        "diagonal-edges": (("diagonal_edge_responses",), ("check_diagonal_edge_responses",)),
        "integral-kernel": (("integral_kernel",), ("check_integral_kernel",)),
    },
    "05_learning_a_kernel": {
        "train-loop": (("train_kernel",), ("check_train_kernel",)),
        "lr-limit": (("lr_limit",), ("check_lr_limit",)),
        "recover-kernel": (("recover_kernel",), ("check_recover_kernel",)),
    },
}
LESSONS = list(TEST_CELLS)

# exercise id -> the rules its answer must follow (the table of the exercise contract; the checks'
# ``convcourse.checks.rules.EXERCISE_RULES`` must agree).  The speed checks share corr2d-fast's.
SHIPPED, LIBRARY_CONV, CONV_MODULE, AUTOGRAD = "shipped", "library_conv", "conv_module", "autograd"
_WRITE_IT = frozenset({SHIPPED, LIBRARY_CONV})
FORBIDS = {
    "param-counts": frozenset({SHIPPED}),
    "dense-layer": _WRITE_IT,
    "dense-weight": _WRITE_IT,
    "conv1x1": _WRITE_IT,
    "output-shape": frozenset({SHIPPED}),
    "corr2d": _WRITE_IT,
    "convolve2d": _WRITE_IT,
    "corr2d-fast": _WRITE_IT,
    "corr2d-speed-pass": _WRITE_IT,
    "corr2d-speed-full": _WRITE_IT,
    "corr2d-matmul": _WRITE_IT,
    "corr1d": _WRITE_IT,
    "convolve1d": _WRITE_IT,
    "conv2d-layer": frozenset({SHIPPED, CONV_MODULE}),
    "kernel-grad": frozenset({SHIPPED, AUTOGRAD}),
    "input-grad": frozenset({SHIPPED, AUTOGRAD}),
    "receptive-field": frozenset({SHIPPED}),
    "horizontal-kernel": frozenset({SHIPPED}),
    "diagonal-edges": _WRITE_IT,
    "integral-kernel": frozenset({SHIPPED}),
    "second-derivative": frozenset({SHIPPED}),
    "min-kernel-size": frozenset({SHIPPED}),
    "blur-kernel": frozenset({SHIPPED}),
    "directional-kernel": frozenset({SHIPPED}),
    "train-loop": frozenset({SHIPPED}),
    "lr-limit": frozenset({SHIPPED}),
    "recover-kernel": frozenset({SHIPPED}),
}
# How an exercise's "**Rules:**" paragraph states each rule: the phrase that names the rule (it
# must not appear for a rule the exercise does not have), then what the paragraph must mention.
RULE_WORDING = {
    SHIPPED: ("ships with the course or with d2l", ("`convcourse`", "d2l")),
    LIBRARY_CONV: (
        "no library convolution",
        ("`F.conv2d`", "`torch.conv", "`nn.Conv", "scipy", "`numpy.convolve`"),
    ),
    CONV_MODULE: ("no convolution module", ("`nn.Conv2d`", "base class", "submodule")),
    AUTOGRAD: ("no autograd", ("`.backward()`", "`torch.autograd`", "`.grad`")),
}
# Modules that hold the course's answers or the instructor's tools: no lesson imports them.
ANSWER_MODULES = ("convcourse.corr", "convcourse.layers", "convcourse.instructor")

# Markers of instructor-only regions (nbgrader's defaults).
REGION_MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
    "END MARK SCHEME",
)


def source_path(lesson: str) -> Path:
    return SOLUTIONS / lesson / f"{lesson}.ipynb"


def release_path(lesson: str) -> Path:
    return NOTEBOOKS / lesson / f"{lesson}.ipynb"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def graded_cells(nb, kind: str) -> list:
    """Cells of one kind: "solution" (code answers), "test" (autograded), "free" (by hand)."""
    out = []
    for cell in nb.cells:
        meta = nbgrader(cell)
        if kind == "solution" and meta.get("solution") and cell.cell_type == "code":
            out.append(cell)
        elif kind == "test" and meta.get("grade") and not meta.get("solution"):
            out.append(cell)
        elif kind == "free" and meta.get("grade") and meta.get("solution"):
            out.append(cell)
    return out


def region(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly inside ``### BEGIN ...`` / ``### END ...`` regions of ``source``."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def defined_names(source: str) -> set[str]:
    """Top-level names a code cell defines (functions, classes, plain assignments)."""
    pattern = r"^(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*="
    return {a or b for a, b in re.findall(pattern, source, flags=re.MULTILINE)}


def top_level_names(source: str) -> set[str]:
    """Every name a code cell binds in the notebook's namespace, found with ``ast``.

    Definitions, assignments (tuple unpacking, augmented, annotated, walrus), imports, loop and
    ``with`` targets and exception names count, also inside top-level ``if``/``for``/``with``/
    ``try`` blocks (they run at top level); the bodies of functions, classes and lambdas do not.
    """
    names: set[str] = set()

    def targets(node):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Starred):
            targets(node.value)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            for part in [*node.decorator_list, *getattr(node, "bases", [])]:
                visit(part)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                targets(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
            targets(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):  # not comprehensions: own scope
            targets(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets(node.optional_vars)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return names


def imported_modules(source: str) -> set[str]:
    """The modules a code cell imports, dotted (``from a import b`` gives ``a`` and ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def solution_names() -> set[str]:
    """The names the answer cells of the instructor notebooks define at top level."""
    names = set()
    for lesson in LESSONS:
        for cell in graded_cells(read(source_path(lesson)), "solution"):
            names |= top_level_names(cell.source)
    return names


def tool_env() -> dict[str, str]:
    """Environment for nbgrader and nbval subprocesses.

    This Python's script folder goes first on PATH (nbgrader runs the ``alembic`` command), and
    figures are drawn headless.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("CONVCOURSE_STATIC", "1")
    env.pop("CONVCOURSE_STUDENT_ID", None)
    return env
