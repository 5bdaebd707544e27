"""Nothing a student receives contains solutions, hidden tests, rubrics or the course's answers.

The student release (``notebooks/``, both editions: ``notebooks/zh/`` is checked against the
Chinese instructor edition, whose model answers are translated) is read as raw text, so nothing
can hide in metadata either.
Outside the answer cells, no lesson defines a name an answer defines (a teaching cell must not
implement an exercise) or imports the course's reference implementations or instructor tools.
(Feedback files are checked by the nbgrader round trip, test_course_roundtrip.py.)
"""

from __future__ import annotations

import pytest
from course_facts import (
    ANSWER_MODULES,
    INDEX,
    LESSONS,
    NOTEBOOKS,
    REGION_MARKERS,
    ROOT,
    SOLUTIONS,
    graded_cells,
    imported_modules,
    nbgrader,
    read,
    region,
    release_path,
    solution_names,
    source_path,
    top_level_names,
)

ZH_INSTRUCTOR = ROOT / "translations" / "zh" / "instructor"
EDITIONS = ("en", "zh")
# Words that only an instructor version holds (the model answers' and rubrics' headings).
INSTRUCTOR_WORDS = {"en": ("Model answer", "Rubric"), "zh": ("参考答案", "评分标准")}
EDITION_LESSONS = [(lang, lesson) for lang in EDITIONS for lesson in LESSONS]


def edition_release(lang: str, lesson: str):
    return release_path(lesson) if lang == "en" else NOTEBOOKS / lang / lesson / f"{lesson}.ipynb"


def edition_source(lang: str, lesson: str):
    return source_path(lesson) if lang == "en" else ZH_INSTRUCTOR / lesson / f"{lesson}.ipynb"


def secret_lines(lesson: str, lang: str = "en") -> set[str]:
    """Distinctive lines of the instructor notebook's solutions, hidden tests and rubrics.

    A line counts when it is long enough to be distinctive and appears nowhere in the
    instructor notebook outside those regions (so it cannot be legitimate lesson text).
    """
    nb = read(edition_source(lang, lesson))
    secret, public = set(), set()
    for cell in nb.cells:
        lines = [ln.strip() for ln in cell.source.splitlines()]
        if cell in graded_cells(nb, "free"):
            secret.update(lines)
            continue
        hidden = {ln.strip() for ln in region(cell.source, "BEGIN SOLUTION", "END SOLUTION")}
        hidden |= {ln.strip() for ln in region(cell.source, "BEGIN HIDDEN", "END HIDDEN")}
        secret |= hidden
        public.update(ln for ln in lines if ln not in hidden)
    return {ln for ln in secret - public if len(ln) >= 12 and not ln.startswith("#")}


@pytest.mark.parametrize(("lang", "lesson"), EDITION_LESSONS)
def test_release_has_no_region_markers_hidden_tests_or_rubrics(lang, lesson):
    text = edition_release(lang, lesson).read_text(encoding="utf-8")
    for marker in REGION_MARKERS:
        assert marker not in text
    for secret in ("hidden=True", "student_seed()", *INSTRUCTOR_WORDS[lang]):
        assert secret not in text
    # The instructor version does hold them: the words looked for are the right ones.
    assert all(
        w in edition_source(lang, lesson).read_text(encoding="utf-8")
        for w in INSTRUCTOR_WORDS[lang]
    )


@pytest.mark.parametrize(("lang", "lesson"), EDITION_LESSONS)
def test_release_contains_no_line_of_any_solution_or_rubric(lang, lesson):
    text = edition_release(lang, lesson).read_text(encoding="utf-8")
    released = read(edition_release(lang, lesson))
    sources = "\n".join(c.source for c in released.cells)
    secrets = secret_lines(lesson, lang)
    assert len(secrets) >= 10, "the leak check must have something to look for"
    leaked = sorted(s for s in secrets if s in sources or s in text)
    assert not leaked


@pytest.mark.parametrize(("lang", "lesson"), EDITION_LESSONS)
def test_released_answer_cells_are_stubs(lang, lesson):
    released = read(edition_release(lang, lesson))
    for cell in graded_cells(released, "solution"):
        assert "raise NotImplementedError()" in cell.source
    for cell in graded_cells(released, "free"):
        assert cell.source.strip() == "YOUR ANSWER HERE"
    # nbgrader's own bookkeeping: locked test cells, checksums to detect tampering.
    for cell in graded_cells(released, "test"):
        assert nbgrader(cell)["locked"] and nbgrader(cell).get("checksum")
        assert cell.metadata.get("editable") is False


def test_every_released_notebook_comes_from_a_source():
    released = sorted(
        p.relative_to(NOTEBOOKS)
        for p in NOTEBOOKS.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and p.relative_to(NOTEBOOKS).parts[0] != "zh"
    )
    sources = sorted(
        p.relative_to(SOLUTIONS)
        for p in SOLUTIONS.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )
    assert released == sources
    assert (NOTEBOOKS / INDEX).is_file()
    # The Chinese edition: the same files, one for each instructor notebook of its own.
    zh = sorted(p.relative_to(NOTEBOOKS / "zh") for p in (NOTEBOOKS / "zh").rglob("*.ipynb"))
    zh_sources = sorted(p.relative_to(ZH_INSTRUCTOR) for p in ZH_INSTRUCTOR.rglob("*.ipynb"))
    assert zh == zh_sources == sources


RELEASED = [NOTEBOOKS / INDEX] + [edition_release(*pair) for pair in EDITION_LESSONS]
RELEASED += [NOTEBOOKS / "zh" / INDEX]
SOURCES = [SOLUTIONS / INDEX] + [edition_source(*pair) for pair in EDITION_LESSONS]


def test_the_names_answers_define_are_found():
    # The exercise contract's symbols are among them (and the finder sees nested bindings).
    names = solution_names()
    assert {"corr2d", "corr2d_fast", "Conv2D", "K_horizontal", "train_kernel"} <= names
    found = top_level_names("if ok:\n    corr2d = f\nfor (a, b) in z:\n    pass\n")
    assert {"corr2d", "a", "b"} <= found
    assert "inner" not in top_level_names("def g():\n    inner = 1\n")


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: "-".join(p.relative_to(ROOT).parts))
def test_released_code_outside_answer_cells_defines_no_answer_name(path):
    answers = solution_names()
    nb = read(path)
    solutions = graded_cells(nb, "solution")
    offending = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or cell in solutions:
            continue
        defined = top_level_names(cell.source) & answers
        if defined:
            offending[cell.id] = sorted(defined)
    assert not offending, f"teaching or test cells define exercise answers: {offending}"


@pytest.mark.parametrize(
    "path", RELEASED + SOURCES, ids=lambda p: "-".join(p.relative_to(ROOT).parts)
)
def test_no_lesson_imports_the_course_answers_or_instructor_tools(path):
    nb = read(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for module in imported_modules(cell.source):
            assert not module.startswith(ANSWER_MODULES), f"{cell.id} imports {module}"
    text = path.read_text(encoding="utf-8")
    for module in ANSWER_MODULES:
        assert module not in text
    assert "from convcourse import corr" not in text and "corr.corr2d" not in text
