"""The grader's static scan (convcourse/instructor/scan.py): forbidden code an answer reaches,
tampering evidence, and no finding at all on honest code (the real lessons' model answers, the
correct implementations of tests/checks, a few student styles)."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest
import torch  # noqa: F401 -- loaded, as in the grader: star imports from it are checked exactly
from scan_corpus import FORBIDDEN, FORBIDS, HONEST, LOOP, SETUP, SYMBOL, TAMPERING, build, case

from convcourse.instructor.judging import scan_policy
from convcourse.instructor.judging.scan import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_DEPTH,
    MAX_TOTAL_CHARS,
    ScanCell,
    Target,
    scan_submission,
)

REPO = Path(__file__).resolve().parents[2]


def scan(c, after=()):
    cells, target = build(c, after)
    return scan_submission(cells, [target]), target


def describe(report) -> str:
    lines = [f"T cell {f.cell} line {f.line}: {f.what}" for f in report.tampering]
    for ex, found in report.forbidden.items():
        lines += [f"F {ex} {f.rule} cell {f.cell} line {f.line}: {f.what}" for f in found]
    return "\n".join(lines) or "(no findings)"


# ------------------------------------------------------------------------- (a) forbidden code


@pytest.mark.parametrize("c", FORBIDDEN, ids=lambda c: c.name)
def test_forbidden_code_is_found(c):
    report, target = scan(c)
    found = report.forbidden.get(c.exercise, [])
    rules = {f.rule for f in found}
    assert c.expect <= rules, describe(report)
    assert rules <= target.forbids  # only the exercise's own rules are reported
    for f in found:
        assert f.what and f.what[0] != " " and "\n" not in f.what
    if c.where is not None:
        cell, line = c.where
        assert any((f.cell, f.line) == (cell + 1, line) for f in found), describe(report)
    for words in c.words:
        assert any(words in f.what for f in report.tampering), describe(report)


def test_findings_name_the_construct_and_the_path():
    report, _ = scan(
        case("x", "corr2d", "def helper(X, K):\n    return F.conv2d(X, K)",
             "def corr2d(X, K):\n    return helper(X, K)")
    )  # fmt: skip
    (finding,) = report.forbidden["corr2d"]
    assert finding.what == "corr2d uses F.conv2d (a library convolution), through helper"
    assert (finding.cell, finding.line, finding.rule) == (1, 2, "library_conv")


def test_only_the_target_rules_count():
    """F.conv2d is fine in conv2d-layer (its rule is conv_module), not in corr2d."""
    layer = case(
        "layer",
        "conv2d-layer",
        "class Conv2D(nn.Module):\n    def forward(self, X):\n"
        "        return F.conv2d(X[None, None], self.weight[None, None])[0, 0]",
    )
    report, _ = scan(layer)
    assert report.forbidden == {}, describe(report)
    report, _ = scan(case("fn", "corr2d", "def corr2d(X, K):\n    return F.conv2d(X, K)"))
    assert [f.rule for f in report.forbidden["corr2d"]] == ["library_conv"]


def test_bindings_after_the_test_cell_do_not_count():
    honest = case("late", "corr2d", LOOP)
    late = ("corr2d = d2l.corr2d", "def corr2d(X, K):\n    return F.conv2d(X, K)")
    report, _ = scan(honest, after=late)
    assert report.forbidden == {}, describe(report)


def test_a_helper_bound_after_the_test_does_not_count():
    c = case("late_helper", "corr2d", "def corr2d(X, K):\n    return helper(X, K)")
    report, _ = scan(c, after=("def helper(X, K):\n    return F.conv2d(X, K)",))
    assert report.forbidden == {}, describe(report)


def test_each_target_sees_its_own_position():
    cells = [
        ScanCell(0, SETUP, True),
        ScanCell(1, LOOP, False),
        ScanCell(2, "check_corr2d(corr2d)", True),
        ScanCell(3, "corr2d = d2l.corr2d", False),
        ScanCell(4, "check_corr2d(corr2d)", True),
    ]
    rules = frozenset(FORBIDS["corr2d"])
    targets = [Target("corr2d", ("corr2d",), 2, rules), Target("convolve2d", ("corr2d",), 4, rules)]
    report = scan_submission(cells, targets)
    assert set(report.forbidden) == {"convolve2d"}
    assert [(f.cell, f.rule) for f in report.forbidden["convolve2d"]] == [(3, "shipped")]


def test_trusted_cells_are_followed_but_never_evidence():
    trusted = "import os\nimport gc\n\ndef lesson_helper(X, K):\n    return F.conv2d(X, K)\n"
    cells = [
        ScanCell(0, SETUP, True),
        ScanCell(1, trusted, True),
        ScanCell(2, "def corr2d(X, K):\n    return lesson_helper(X, K)", False),
        ScanCell(3, "check_corr2d(corr2d)", True),
    ]
    report = scan_submission(cells, [Target("corr2d", ("corr2d",), 3, frozenset({"library_conv"}))])
    assert report.tampering == []
    (finding,) = report.forbidden["corr2d"]
    assert (finding.cell, finding.line) == (1, 5)
    # The same text submitted as the student's own is evidence.
    untrusted = [c if c.index != 1 else ScanCell(1, trusted, False) for c in cells]
    words = [f.what for f in scan_submission(untrusted, []).tampering]
    assert any("imports os" in w for w in words) and any("imports gc" in w for w in words)


def test_no_targets_no_forbidden_findings():
    report, _ = scan(case("x", "corr2d", "corr2d = d2l.corr2d"))
    assert report.forbidden
    cells, _ = build(case("x", "corr2d", "corr2d = d2l.corr2d"))
    assert scan_submission(cells, []).forbidden == {}


# ------------------------------------------------------------------------ (b) tampering


@pytest.mark.parametrize("c", TAMPERING, ids=lambda c: c.name)
def test_tampering_is_found(c):
    report, _ = scan(c)
    for words in c.words:
        assert any(words in f.what for f in report.tampering), describe(report)
    assert all(f.rule == "tampering" for f in report.tampering)
    assert report.first_tampering_cell() == min(f.cell for f in report.tampering)
    if c.where is not None:
        cell, line = c.where
        assert any((f.cell, f.line) == (cell + 1, line) for f in report.tampering), describe(report)


def test_evidence_is_deduplicated_per_cell_and_in_cell_order():
    c = case("dups", "corr2d", "import gc\nimport gc\ndef f():\n    import gc", "x = 1",
             "import gc")  # fmt: skip
    report, _ = scan(c)
    gc_findings = [f for f in report.tampering if "imports gc" in f.what]
    assert [(f.cell, f.line) for f in gc_findings] == [(1, 1), (3, 1)]
    assert [f.cell for f in report.tampering] == sorted(f.cell for f in report.tampering)
    assert report.first_tampering_cell() == 1


def test_a_cell_that_does_not_parse_is_no_evidence_and_binds_nothing():
    broken = "import gc\ncorr2d = d2l.corr2d\ndef (:"
    report, _ = scan(case("broken", "corr2d", broken, LOOP))
    assert report.tampering == [] and report.forbidden == {}, describe(report)


def test_too_deep_is_evidence():
    deep = "x = " + "[" * 150 + "1" + "]" * 150
    deeper = "x = " + "-" * (MAX_CELL_CHARS - 10) + "1"  # too deep for Python's parser
    chain = "x = a" + ".b" * (MAX_DEPTH + 5)
    for source in (deep, deeper, chain):
        report, _ = scan(case("deep", "corr2d", source))
        assert report.first_tampering_cell() == 1, (source[:40], describe(report))
        assert any("deep" in f.what for f in report.tampering)


def test_too_large_is_evidence():
    big = "x = 1\n" * (MAX_CELL_CHARS // 6 + 1)
    report, _ = scan(case("big", "corr2d", big, "y = 2"))
    (finding,) = report.tampering
    assert finding.cell == 1 and "characters of code" in finding.what


def test_too_many_cells_is_evidence_and_stops_the_scan():
    cells = [ScanCell(i, "x = 1", False) for i in range(MAX_CELLS + 10)]
    cells.append(ScanCell(len(cells), "import gc", False))
    report = scan_submission(cells, [])
    (finding,) = report.tampering
    assert finding.cell == MAX_CELLS and "more code than the scan reads" in finding.what
    size = MAX_CELL_CHARS - 1
    total = [ScanCell(i, "x = 1  # " + "." * (size - 9), False) for i in range(40)]
    (finding,) = scan_submission(total, []).tampering
    assert finding.cell == MAX_TOTAL_CHARS // size


# ------------------------------------------------------------------------- honest code


@pytest.mark.parametrize("c", HONEST, ids=lambda c: c.name)
def test_honest_code_has_no_finding(c):
    report, _ = scan(c)
    assert report.tampering == [] and report.forbidden == {}, describe(report)


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _without_markers(text: str) -> str:
    return "\n".join(
        line for line in text.split("\n") if "### BEGIN SOLUTION" not in line
        and "### END SOLUTION" not in line
    )  # fmt: skip


def _exercise(test_grade_id: str) -> str:
    name = test_grade_id.removeprefix("test-")
    return {"corr2d-fast-pass": "corr2d-speed-pass", "corr2d-fast-full": "corr2d-speed-full"}.get(
        name, name
    )


def lesson_submission(lesson: str) -> tuple[list[ScanCell], list[Target]]:
    """The released notebook with every answer cell holding the model answer (the student's
    own code), the other code cells as released (trusted), and a target per check call."""
    solution = json.loads((REPO / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    released = json.loads((REPO / "notebooks" / lesson / f"{lesson}.ipynb").read_text())
    by_id = {c.get("id"): c for c in released["cells"]}
    cells, targets = [], []
    for i, cell in enumerate(solution["cells"]):
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cells.append(ScanCell(i, _without_markers(_source(cell)), False))
            continue
        cells.append(ScanCell(i, _source(by_id[cell.get("id")]), True))
        if meta.get("grade"):
            exercise = _exercise(meta["grade_id"])
            for stmt in ast.parse(_source(cell)).body:
                call = stmt.value if isinstance(stmt, ast.Expr) else None
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                    symbols = tuple(a.id for a in call.args if isinstance(a, ast.Name))
                    targets.append(Target(exercise, symbols, i, frozenset(FORBIDS[exercise])))
    return cells, targets


LESSONS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_model_answers_have_no_finding(lesson):
    cells, targets = lesson_submission(lesson)
    assert targets and any(not c.trusted for c in cells)
    report = scan_submission(cells, targets)
    assert report.tampering == [] and report.forbidden == {}, describe(report)


def test_the_model_answers_pasted_as_student_code_have_no_evidence():
    """Every code cell of every lesson as the student's own (nothing trusted): the lessons'
    own code is honest code too."""
    for lesson in LESSONS:
        cells, targets = lesson_submission(lesson)
        untrusted = [ScanCell(c.index, c.source, False) for c in cells]
        report = scan_submission(untrusted, targets)
        assert report.tampering == [] and report.forbidden == {}, (lesson, describe(report))


# The correct implementations of tests/checks/checks_impls.py, per exercise.
CORRECT = {
    "corr2d": ["corr2d_loop", "corr2d_unfold", "corr2d_strided"],
    "corr2d-fast": ["corr2d_unfold", "corr2d_strided", "corr2d_loop", "corr2d_scipy"],
    "convolve2d": ["convolve2d_flip"],
    "param-counts": ["dense_param_count"],
    "dense-layer": ["dense_layer_loops"],
    "dense-weight": ["dense_weight_loops"],
    "output-shape": ["output_shape"],
    "corr2d-matmul": ["kernel_matrix_basis", "kernel_matrix_reference"],
    "conv2d-layer": ["Conv2D"],
    "kernel-grad": ["kernel_grad"],
    "horizontal-kernel": ["K_horizontal", "K_horizontal_sobel"],
    "directional-kernel": ["directional_edge_kernel", "directional_central"],
    "second-derivative": ["second_derivative_kernel"],
    "blur-kernel": ["blur_kernel", "blur_gaussian"],
    "min-kernel-size": ["min_kernel_size"],
    "train-loop": ["train_kernel", "train_kernel_sgd"],
    "recover-kernel": ["recover_kernel"],
}
# What makes one of them break an exercise's rules today (the file predates the rules): the
# course's reference code, the checks' own helpers, scipy's correlation.
_AGAINST = {"corr.": "shipped", "reference": "shipped", "signal.": "library_conv"}


def _sibling(module: str | None) -> bool:
    return bool(module) and (REPO / "tests" / "checks" / f"{module}.py").exists()


def _impls():
    tree = ast.parse((REPO / "tests" / "checks" / "checks_impls.py").read_text())
    text = (REPO / "tests" / "checks" / "checks_impls.py").read_text()
    start = text.index("# Correct answers")
    end = text.index("# Wrong answers")
    imports, course, defs = [], [], {}
    for node in tree.body:
        source = ast.get_source_segment(text, node)
        if isinstance(node, ast.ImportFrom) and _sibling(node.module):
            continue  # another test module's table of wrong answers: not part of any answer
        if isinstance(node, ast.Import | ast.ImportFrom):
            (course if "convcourse" in source else imports).append(source)
        elif start < text.index(source) < end:
            names = [node.name] if hasattr(node, "name") else [t.id for t in node.targets]
            for name in names:
                defs[name] = source
    return "\n".join(imports), "\n".join(course), defs


def test_the_correct_implementations_of_the_checks_have_no_finding():
    imports, course, defs = _impls()
    checked = 0
    for exercise, names in CORRECT.items():
        symbol = SYMBOL[exercise]
        for name in names:
            if name not in defs:
                continue  # renamed or removed since
            cells = [ScanCell(0, SETUP, True), ScanCell(1, course, True)]
            cells.append(ScanCell(2, imports, False))
            cells += [ScanCell(3 + i, src, False) for i, src in enumerate(defs.values())]
            if name != symbol:
                cells.append(ScanCell(len(cells), f"{symbol} = {name}", False))
            position = len(cells)
            target = Target(exercise, (symbol,), position, frozenset(FORBIDS[exercise]))
            report = scan_submission(cells, [target])
            assert report.tampering == [], (name, describe(report))
            own = defs[name] + "".join(defs[n] for n in defs if n in defs[name] and n != name)
            expected = {r for word, r in _AGAINST.items() if word in own} & target.forbids
            rules = {f.rule for f in report.forbidden.get(exercise, [])}
            assert rules == expected, (exercise, name, describe(report))
            checked += 1
    assert checked >= 20


# ------------------------------------------------------------------------- the rule tables


def test_the_scan_uses_the_course_rule_table():
    from convcourse.checks import rules

    assert scan_policy.RULES == rules.RULE_NAMES
    # The table itself is the course's (tests/course checks it against every exercise text).
    for exercise, forbids in rules.EXERCISE_RULES.items():
        assert rules.SHIPPED in forbids and forbids <= set(rules.RULE_NAMES), exercise


def test_rule_tables_match_the_course_vocabulary():
    assert scan_policy.name_rules("conv2d") == {"library_conv"}
    assert scan_policy.name_rules("Conv2d") == {"library_conv", "conv_module"}
    assert scan_policy.name_rules("Conv2D") == frozenset()  # the course's own class name
    assert scan_policy.name_rules("mkldnn_convolution") == {"library_conv"}
    assert scan_policy.name_rules("correlate2d") == {"library_conv"}
    assert scan_policy.name_rules("correlation_lags") == frozenset()
    assert scan_policy.name_rules("unfold") == frozenset()
    assert scan_policy.name_rules("SGD", d2l_receiver=False) == frozenset()
    assert scan_policy.name_rules("SGD", d2l_receiver=True) == {"shipped"}
    assert scan_policy.name_rules("train_ch6", d2l_receiver=None) == {"shipped"}
    assert scan_policy.name_rules("zero_grad") == frozenset()
    assert scan_policy.name_rules("backward") == {"autograd"}
    assert scan_policy.entity_rules("convcourse.plots") == {"shipped"}
    assert scan_policy.entity_rules("torch.optim.SGD") == frozenset()
    assert scan_policy.entity_rules("d2l.torch.SGD") == {"shipped"}
    assert scan_policy.entity_rules("torch.autograd.functional.jacobian") == {"autograd"}
    assert scan_policy.import_problem("torch.nn.functional") is None
    assert scan_policy.import_problem("convcourse.checks", "check_corr2d") is None
    assert scan_policy.import_problem("convcourse.checks", "calls")
    assert scan_policy.import_problem("gc")


# --------------------------------------------------------------------------------- timing


def _timed(cells, targets=(), repeat=1):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        report = scan_submission(cells, list(targets))
        best = min(best, time.perf_counter() - start)
    return report, best


def test_scan_time_is_bounded_and_reported():
    """Prints the measured times (no timing assertion: the limits themselves are asserted)."""
    sizes = {lesson: sum(len(c.source) for c in lesson_submission(lesson)[0]) for lesson in LESSONS}
    largest = max(sizes, key=sizes.get)
    cells, targets = lesson_submission(largest)
    _, lesson_s = _timed(cells, targets, repeat=3)
    lines = [f"largest lesson {largest} ({sizes[largest]:,} chars): {lesson_s * 1e3:.0f} ms"]

    many = [ScanCell(i, "x = 1", False) for i in range(200_000)]
    report, many_s = _timed(many, [Target("corr2d", ("x",), 200_000, frozenset({"shipped"}))])
    assert report.first_tampering_cell() == MAX_CELLS
    lines.append(f"200,000 cells: {many_s:.2f} s")

    huge = [ScanCell(0, "x = 1\n" * 5_000_000, False)]  # 30 MB
    report, huge_s = _timed(huge)
    assert report.first_tampering_cell() == 0
    lines.append(f"one 30 MB cell: {huge_s:.2f} s")

    spread = [ScanCell(i, ("x = 1\n" * 16_000)[:MAX_CELL_CHARS], False) for i in range(300)]
    report, spread_s = _timed(spread)  # dense statements up to the limit on total size
    assert report.first_tampering_cell() is not None
    lines.append(f"{len(spread)} cells of {MAX_CELL_CHARS:,} chars of statements: {spread_s:.2f} s")

    # The most the scan analyses, as realistic code: cells of answer code up to the limits,
    # each function calling the previous one, 8 targets reaching all of them.
    body = LOOP.replace("def corr2d(X, K):", "def f{i}(X, K):") + "    f{p}(X, K)\n" * 4
    n = min(MAX_CELLS, (MAX_TOTAL_CHARS - len(SETUP)) // (len(body) + 8))
    cells = [ScanCell(0, SETUP, True)]
    cells.append(ScanCell(1, body.format(i=1, p="torch_corr2d").replace("ftorch", "torch"), False))
    cells += [ScanCell(i, body.format(i=i, p=i - 1), False) for i in range(2, n)]
    end = len(cells)
    targets = [Target("corr2d", (f"f{end - 1}",), end, frozenset(FORBIDS["corr2d"]))] * 8
    report, full_s = _timed(cells, targets)
    assert report.tampering == []
    assert len(report.forbidden["corr2d"]) == 1  # torch_corr2d's F.conv2d, reached from all
    lines.append(
        f"{len(cells):,} cells of answer code ({sum(len(c.source) for c in cells):,} chars, "
        f"8 targets): {full_s:.2f} s"
    )

    # The carrier fixed point at its worst: a chain of aliases listed in reverse order.
    n = 10_000
    chain = [f"a{i} = a{i - 1}" for i in range(n, 0, -1)] + ["import torch", "a0 = torch"]
    chain.append(f"a{n}.allclose = abs")
    chain_cells = [ScanCell(i, "\n".join(chain[i * 500 : i * 500 + 500]), False) for i in range(21)]
    report, chain_s = _timed(chain_cells)
    assert any(f"monkeypatches a{n}.allclose" in f.what for f in report.tampering)
    lines.append(f"{n:,} aliases in reverse order: {chain_s:.2f} s")
    print("\nscan times:\n  " + "\n  ".join(lines))


# ------------------------------------------------------------------------------ robustness


def test_the_scan_reads_any_real_python_without_failing():
    """Every Python file of the package, one top-level statement per cell (some trusted, with
    magics and shell lines mixed in), with a target on every name it defines: the scan returns
    a report (its evidence is not the point here)."""
    files = sorted((REPO / "convcourse").rglob("*.py"))
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        sources = [ast.get_source_segment(text, node) or "" for node in tree.body]
        for i, source in enumerate(sources):
            if i % 7 == 1:
                sources[i] = f"%time {source}" if "\n" not in source else f"%%time\n{source}"
            elif i % 11 == 2:
                sources[i] = f"!echo {i}\n{source}"
        cells = [ScanCell(i, s, i % 3 == 0) for i, s in enumerate(sources)]
        names = [n.name for n in tree.body if hasattr(n, "name")][:20]
        targets = [Target("corr2d", (n,), len(cells), frozenset(FORBIDS["corr2d"])) for n in names]
        report = scan_submission(cells, targets)
        assert all(f.cell in range(len(cells)) for f in report.tampering), path
