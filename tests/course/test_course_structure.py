"""The instructor notebooks follow the course's shape and the exercise contract."""

from __future__ import annotations

import re

import pytest
from course_facts import (
    EXERCISES,
    FORBIDS,
    FREE_RESPONSE,
    INDEX,
    LESSONS,
    NOTEBOOKS,
    ROOT,
    RULE_WORDING,
    SOLUTIONS,
    TEST_CELLS,
    defined_names,
    graded_cells,
    nbgrader,
    read,
    region,
    source_path,
)

from convcourse.instructor.authoring import release


def test_the_lessons_are_the_assignments_of_the_contract():
    assert release.lessons(ROOT) == LESSONS


def test_sources_are_stored_in_canonical_form():
    # Outputs, execution counts and editor metadata stripped, stable ids, sorted JSON: run
    # `python -m convcourse.instructor.release --strip-sources` after editing a lesson.
    assert release.strip_sources(ROOT, check=True) == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_opens_with_objectives_and_ends_with_exercises_and_summary(lesson):
    nb = read(source_path(lesson))
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith("# Lesson ")
    assert "By the end of this lesson you can" in first.source
    assert last.cell_type == "markdown" and last.source.startswith("## Summary")
    headings = [i for i, c in enumerate(nb.cells) if c.source.startswith("## Exercises")]
    assert len(headings) == 1, "one '## Exercises' section"
    graded = [
        i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade") or nbgrader(c).get("solution")
    ]
    assert graded and min(graded) > headings[0], "all graded cells sit in the Exercises section"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_has_figures_before_the_exercises(lesson):
    nb = read(source_path(lesson))
    end = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Exercises"))
    drawing = re.compile(r"\bplots\.\w+\(|_explorer\(|sliding_window\(|Animator\(|plt\.subplots")
    figures = [c for c in nb.cells[:end] if c.cell_type == "code" and drawing.search(c.source)]
    assert len(figures) >= 3


def owner(test_id: str, exercises) -> str:
    """The exercise a test cell grades: the longest exercise id it starts with."""
    candidates = [
        e for e in exercises if test_id == f"test-{e}" or test_id.startswith(f"test-{e}-")
    ]
    return max(candidates, key=len)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_a_solution_cell_and_a_thin_test_cell(lesson):
    nb = read(source_path(lesson))
    solutions = {nbgrader(c)["grade_id"]: c for c in graded_cells(nb, "solution")}
    tests = {nbgrader(c)["grade_id"]: c for c in graded_cells(nb, "test")}
    assert list(solutions) == list(EXERCISES[lesson])
    assert {k: nbgrader(c)["points"] for k, c in tests.items()} == TEST_CELLS[lesson]
    assert list(tests) == list(TEST_CELLS[lesson]), "test cells in the listed order"
    order = [nbgrader(c)["grade_id"] for c in nb.cells if nbgrader(c)]
    for exercise, (names, checks) in EXERCISES[lesson].items():
        cell = solutions[exercise]
        assert set(names) <= defined_names(cell.source), f"{exercise} defines {names}"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        assert not nbgrader(cell).get("grade") and not nbgrader(cell).get("locked")
        own_tests = [t for t in tests if owner(t, EXERCISES[lesson]) == exercise]
        assert f"test-{exercise}" in own_tests
        assert order.index(exercise) < min(order.index(t) for t in own_tests)
        for grade_id in own_tests:
            test = tests[grade_id]
            assert nbgrader(test)["locked"] and 1 <= nbgrader(test)["points"] <= 3
            hidden = region(test.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
            visible = [
                ln
                for ln in test.source.splitlines()
                if ln.strip() and ln not in hidden and "HIDDEN TESTS" not in ln
            ]
            assert 1 <= len(visible) <= 2, f"{grade_id}: visible part is one or two lines"
            assert all(re.match(r"check_\w+\(", ln) for ln in visible)
            assert {re.match(r"(check_\w+)", ln).group(1) for ln in visible} <= set(checks)
            assert hidden, f"{grade_id} has hidden tests"
            for line in hidden:
                assert re.match(r"check_\w+\(.*seed=student_seed\(\), hidden=True\)$", line), (
                    f"{grade_id}: hidden tests call the checks with the student's seed"
                )


@pytest.mark.parametrize("lesson", LESSONS)
def test_free_response_cells_are_graded_by_hand_with_a_rubric(lesson):
    nb = read(source_path(lesson))
    cells = graded_cells(nb, "free")
    assert {nbgrader(c)["grade_id"]: nbgrader(c)["points"] for c in cells} == FREE_RESPONSE[lesson]
    for cell in cells:
        assert cell.cell_type == "markdown"
        assert "**Model answer.**" in cell.source
        assert re.search(r"\*\*Rubric \(\d+ points?\)\.\*\*", cell.source)
        index = nb.cells.index(cell)
        question = next(c for c in reversed(nb.cells[:index]) if c.cell_type == "markdown")
        assert "graded by hand" in question.source, "the question precedes the answer"


@pytest.mark.parametrize("lesson", LESSONS)
def test_cells_have_stable_unique_ids_and_the_course_kernel(lesson):
    nb = read(source_path(lesson))
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    grade_ids = [nbgrader(c)["grade_id"] for c in nb.cells if nbgrader(c)]
    assert len(grade_ids) == len(set(grade_ids))
    assert nb.metadata.kernelspec.name == "convcourse"
    assert nb.metadata.kernelspec.display_name == "Python 3 (convcourse)"


@pytest.mark.parametrize("lesson", LESSONS)
def test_checked_cells_store_their_reference_output(lesson):
    nb = read(source_path(lesson))
    checked = [c for c in nb.cells if c.cell_type == "code" and release.is_checked(c)]
    for cell in checked:
        assert cell.outputs, f"{cell.id}: run --refresh-outputs to store nbval's reference"
        assert "torch.manual_seed" in cell.source or "random" not in cell.source
        assert cell.execution_count is not None, "nbval skips cells without a count"
    others = [c for c in nb.cells if c.cell_type == "code" and c not in checked]
    assert all(not c.outputs and c.execution_count is None for c in others)


def test_index_lists_the_lessons_in_order_with_working_links():
    for folder in (SOLUTIONS, NOTEBOOKS):
        nb = read(folder / INDEX)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        links = re.findall(r"\]\(([^)]+\.ipynb)\)", text)
        assert links == [f"{lesson}/{lesson}.ipynb" for lesson in LESSONS]
        assert all((folder / link).is_file() for link in links)
        assert "Validate" in text and "test cell" in text
        assert not any(nbgrader(c) for c in nb.cells)


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_checks_called_exist_and_name_the_same_symbols(lesson):
    checks = pytest.importorskip("convcourse.checks")
    for exercise, (names, functions) in EXERCISES[lesson].items():
        for name in functions:
            assert callable(getattr(checks, name, None)), f"convcourse.checks.{name} is missing"
        if hasattr(checks, "EXERCISES"):
            assert tuple(checks.EXERCISES[exercise].symbols) == names


def rules_paragraph(text: str) -> str:
    """The paragraph of a markdown cell that starts with ``**Rules:**`` (the only one)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.lstrip().startswith("**Rules:**")]
    assert len(paragraphs) == 1, f"one **Rules:** paragraph, found {len(paragraphs)}"
    return " ".join(paragraphs[0].split())


def statement_of(nb, exercise: str) -> str:
    """The markdown cell that states an exercise: the last one before its answer cell."""
    index = next(i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade_id") == exercise)
    return next(c for c in reversed(nb.cells[:index]) if c.cell_type == "markdown").source


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_states_exactly_its_rules(lesson):
    nb = read(source_path(lesson))
    for exercise in EXERCISES[lesson]:
        rules = rules_paragraph(statement_of(nb, exercise))
        for rule, (phrase, mentions) in RULE_WORDING.items():
            if rule in FORBIDS[exercise]:
                assert phrase in rules, f"{exercise}: the rules say {phrase!r}"
                missing = [m for m in mentions if m not in rules]
                assert not missing, f"{exercise}: the {rule} rule names {missing}"
            else:
                assert phrase not in rules, f"{exercise} does not forbid {rule}: {rules}"


def test_the_rules_table_is_the_checks_table():
    # The checks enforce the rules the lessons state: the same table.
    rules = pytest.importorskip("convcourse.checks.rules")
    assert dict(rules.EXERCISE_RULES) == FORBIDS
    checks = pytest.importorskip("convcourse.checks")
    exercises = {**checks.EXERCISES, **{e.id: e for e in checks.SPEED_EXERCISES.values()}}
    for exercise, forbids in FORBIDS.items():
        if hasattr(exercises[exercise], "forbids"):
            assert exercises[exercise].forbids == forbids, exercise


def test_index_explains_the_rules_and_how_they_are_enforced():
    text = "\n".join(c.source for c in read(SOLUTIONS / INDEX).cells if c.cell_type == "markdown")
    flat = " ".join(text.split())
    assert "**Rules:**" in flat
    for phrase in ("Nothing that ships with the course or with d2l", "No library convolution"):
        assert phrase in flat
    assert "No convolution module" in flat and "No autograd" in flat
    for name in ("d2l.corr2d", "d2l.sgd", "d2l.squared_loss", "d2l.SGD", "d2l.Trainer"):
        assert f"`{name}`" in flat
    assert "earns no points for that exercise" in flat


# Lessons whose teaching cells and answers use PyTorch's cross-correlation through the setup
# cell's wrapper; lesson 2 has the students build their own and offers no such wrapper.
WRAPPER_LESSONS = [
    "01_dense_to_conv",
    "03_conv_layer",
    "04_kernels_as_detectors",
    "05_learning_a_kernel",
]


def setup_function_source(lesson: str, name: str) -> str | None:
    """The source of the function ``name`` defined in a lesson's setup cell (first code cell)."""
    import ast

    nb = read(source_path(lesson))
    setup = next(c for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(setup.source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(setup.source, node)
    return None


def test_the_setup_cells_define_one_documented_torch_corr2d():
    sources = {lesson: setup_function_source(lesson, "torch_corr2d") for lesson in LESSONS}
    assert sources.pop("02_cross_correlation") is None
    assert set(sources) == set(WRAPPER_LESSONS) and None not in sources.values()
    assert len(set(sources.values())) == 1, "the same wrapper in every lesson"
    source = sources[WRAPPER_LESSONS[0]]
    assert "F.conv2d" in source and '"""' in source
    for lesson in ("03_conv_layer", "04_kernels_as_detectors", "05_learning_a_kernel"):
        intro = read(source_path(lesson)).cells[0].source
        assert "`torch_corr2d(X, K)`" in intro and "lesson 2" in intro, "the text says why"


def test_torch_corr2d_is_a_cross_correlation_that_autograd_goes_through():
    import torch
    import torch.nn.functional as F

    namespace = {"torch": torch, "F": F}
    exec(setup_function_source(WRAPPER_LESSONS[0], "torch_corr2d"), namespace)
    torch_corr2d = namespace["torch_corr2d"]

    def by_hand(X, K):
        """Y[i, j] = sum_ab K[a, b] X[i + a, j + b], in float64."""
        h, w = K.shape
        Y = torch.zeros(X.shape[0] - h + 1, X.shape[1] - w + 1, dtype=torch.float64)
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i : i + h, j : j + w].double() * K.double()).sum()
        return Y

    gen = torch.Generator().manual_seed(0)
    shapes = [((3, 3), (2, 2)), ((4, 7), (1, 3)), ((6, 5), (3, 2)), ((2, 3), (2, 3))]
    for X_shape, K_shape in shapes:
        for dtype in (torch.float32, torch.float64, torch.int64):
            X = torch.randint(-5, 6, X_shape, generator=gen).to(dtype)
            K = torch.randint(-3, 4, K_shape, generator=gen).to(dtype)
            Y = torch_corr2d(X, K)
            assert Y.is_floating_point() and Y.shape == by_hand(X, K).shape
            assert torch.allclose(Y.double(), by_hand(X, K)), (X_shape, K_shape, dtype)
    # Mixed dtypes promote; the gradient reaches the kernel (lessons 3 and 5 train through it).
    X = torch.randn(5, 6, generator=gen, dtype=torch.float64)
    K = torch.randn(2, 3, generator=gen, requires_grad=True)
    dY = torch.randn(4, 4, generator=gen, dtype=torch.float64)
    (torch_corr2d(X, K) * dY).sum().backward()
    assert torch.allclose(K.grad.double(), by_hand(X, dY), atol=1e-5)
