"""Similar submissions (reporting/similarity.py, similarity_course.py): planted copies are found,
honest variants are not, the starter code and the solution do not count, broken notebooks are
listed, the page is escaped, and the command and the report section work on a course folder."""

from __future__ import annotations

import json
import random

import nbformat
import pytest
from similarity_corpus import GENERATORS, cohort, planted_copy

from convcourse.instructor.cli import main
from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.similarity import (
    DEFAULT_THRESHOLD,
    AnswerCell,
    find_similar,
    normalise,
)
from convcourse.instructor.reporting.similarity_course import (
    run_similarity,
    similarity_page,
    similarity_section,
)

STUB = "def {name}(X, K):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
CELLS = [AnswerCell("nb", gid, STUB.format(name=gid.replace("-", "_")), "") for gid in GENERATORS]

ORIGINAL = """def corr2d(X, K):
    h, w = K.shape
    n_h, n_w = X.shape
    Y = torch.zeros((n_h - h + 1, n_w - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""
# Renamed, reformatted, commented, the two independent statements swapped.
DISGUISED = """def corr2d(X, K):
    # sizes
    rows, cols = X.shape
    kh, kw = K.shape   # kernel size

    out = torch.zeros((rows-kh+1,
                       cols-kw+1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = (X[r:r+kh, c:c+kw]*K).sum()  # window times kernel
    return out
"""
UNFOLD = """def corr2d(X, K):
    windows = X.unfold(0, K.shape[0], 1).unfold(1, K.shape[1], 1)
    return torch.einsum('ijkl,kl->ij', windows, K)
"""
SOLUTION = """def corr2d(X, K):
    ### BEGIN SOLUTION
    k_h, k_w = K.shape
    Y = torch.zeros((X.shape[0] - k_h + 1, X.shape[1] - k_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = torch.sum(X[i : i + k_h, j : j + k_w] * K)
    return Y
    ### END SOLUTION
"""


def tokens(source):
    return [t for t, _ in normalise(source)]


def test_names_literals_comments_and_spacing_do_not_count():
    a = "def f(X, K):\n    n = X.shape[0] - 3  # rows\n    return torch.ones(n) * 'a'\n"
    b = 'def f(X, K):\n\n    rows=X.shape[ 0 ]-7\n    return torch.ones(rows)*"b"\n'
    assert tokens(a) == tokens(b)
    # Attribute and library names are kept: they cannot be renamed.
    assert tokens(a) != tokens(a.replace("torch.ones", "torch.zeros"))
    # Code that does not tokenise still gives tokens (a crude reading).
    assert tokens("def f(X:\n    return 'x\n") != []


def test_a_disguised_copy_is_found_and_an_independent_answer_is_not():
    cell = [AnswerCell("nb", "corr2d", STUB.format(name="corr2d"), "")]
    answers = {
        "ana": {("nb", "corr2d"): ORIGINAL},
        "bo": {("nb", "corr2d"): DISGUISED},
        "cy": {("nb", "corr2d"): UNFOLD},
    }
    result = find_similar(answers, cell, threshold=0.5)
    assert [(p.a, p.b) for p in result.pairs] == [("ana", "bo")]
    pair = result.pairs[0]
    assert pair.score >= DEFAULT_THRESHOLD
    lines_a, lines_b = pair.lines[("nb", "corr2d")]
    assert {5, 6, 7} <= set(lines_a)  # the loops and the body, in each one's own numbering
    assert {8, 9, 10} <= set(lines_b)
    assert result.compared == 3


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_copies_found_and_honest_variants_not_flagged(seed):
    answers, planted = cohort(150, 6, seed=seed)
    keyed = {s: {("nb", gid): src for gid, src in a.items()} for s, a in answers.items()}
    result = find_similar(keyed, CELLS)
    found = {(p.a, p.b) for p in result.pairs}
    assert found == {tuple(sorted(pair)) for pair in planted}
    assert result.compared == 150


def test_copying_one_cell_of_a_short_answer_only_is_not_enough():
    # A one-line answer has fewer fingerprints than MIN_SHARED: the same line is no finding.
    rng = random.Random(3)
    short = "def output_shape(X_shape, K_shape):\n    return X_shape[0] - K_shape[0] + 1\n"
    answers = {"a": {("nb", "output-shape"): short}, "b": {("nb", "output-shape"): short}}
    cell = [AnswerCell("nb", "output-shape", STUB.format(name="output_shape"), "")]
    assert find_similar(answers, cell, threshold=0.1).pairs == []
    copy = planted_copy(rng, ORIGINAL)
    answers = {"a": {("nb", "corr2d"): ORIGINAL}, "b": {("nb", "corr2d"): copy}}
    cell = [AnswerCell("nb", "corr2d", STUB.format(name="corr2d"), "")]
    assert len(find_similar(answers, cell).pairs) == 1


def test_the_solution_and_the_starter_code_are_excluded():
    cell = [AnswerCell("nb", "corr2d", STUB.format(name="corr2d"), SOLUTION)]
    pasted = "\n".join(line for line in SOLUTION.splitlines() if "###" not in line)
    answers = {
        "ana": {("nb", "corr2d"): pasted},
        "bo": {("nb", "corr2d"): pasted.replace("k_h", "a").replace("k_w", "b")},
        "cy": {("nb", "corr2d"): STUB.format(name="corr2d")},
        "dee": {("nb", "corr2d"): STUB.format(name="corr2d") + "\n"},
        "eve": {("nb", "corr2d"): UNFOLD},
    }
    result = find_similar(answers, cell, threshold=0.1)
    assert result.pairs == []
    assert result.solution_like == {"ana": ["corr2d"], "bo": ["corr2d"]}
    assert result.compared == 1  # only eve wrote anything of her own


def test_the_page_escapes_student_code_and_names():
    hostile = ORIGINAL.replace("return Y", "return Y  # </pre><script>alert(1)</script>")
    answers = {
        "ana": {("nb", "corr2d"): hostile},
        "bo": {("nb", "corr2d"): DISGUISED + "x = '<img src=x onerror=alert(2)>'\n"},
    }
    cell = [AnswerCell("nb", "corr2d", STUB.format(name="corr2d"), "")]
    result = find_similar(answers, cell)
    result.unreadable = {"zed": "not valid JSON: <b>bad</b>"}
    page = similarity_page(result, "a<1>")
    assert len(result.pairs) == 1
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)" in page
    assert "&lt;img src=x" in page and "a&lt;1&gt;" in page
    assert page.count("<mark>") == len(result.pairs[0].lines[("nb", "corr2d")][0]) + len(
        result.pairs[0].lines[("nb", "corr2d")][1]
    )


# --------------------------------------------------------------------------------------------
# On a course folder: load_spec, defensive reading, the command, the report section

ASSIGNMENT = "demo"


def _cell(kind, source, **nbgrader):
    cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def _notebook(answer: str | None, keep_ids: bool = True):
    nb = nbformat.v4.new_notebook()
    answer_meta = {"solution": True, "grade": False, "grade_id": "corr2d"} if keep_ids else {}
    test_meta = {"grade": True, "solution": False, "grade_id": "test-corr2d", "points": 1}
    nb.cells = [
        _cell("markdown", "# Demo"),
        _cell("code", SOLUTION if answer is None else answer, **answer_meta),
        _cell("code", "check_corr2d(corr2d)", **(test_meta if keep_ids else {})),
    ]
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity") / "course"
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    nbformat.write(_notebook(None), source / f"{ASSIGNMENT}.ipynb")
    submissions = {
        "ana": _notebook(ORIGINAL),
        "bo": _notebook(DISGUISED, keep_ids=False),  # metadata lost: found by its def line
        "cy": _notebook(UNFOLD),
    }
    for student, nb in submissions.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    broken = root / "submitted" / "dan" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [', encoding="utf-8")
    (root / "submitted" / "eli" / ASSIGNMENT).mkdir(parents=True)  # nothing handed in
    return root


def test_a_course_is_compared_and_broken_notebooks_are_listed(course):
    result = run_similarity(CourseLayout.load(course), ASSIGNMENT)
    assert [(p.a, p.b) for p in result.pairs] == [("ana", "bo")]
    assert set(result.unreadable) == {"dan", "eli"}
    assert result.unreadable["dan"].startswith("demo.ipynb: not valid JSON")
    assert "not submitted" in result.unreadable["eli"]
    assert result.compared == 3


def test_the_command_writes_the_page_and_prints_json(course, tmp_path, capsys):
    out = tmp_path / "sim.html"
    code = main(["similarity", ASSIGNMENT, "--course", str(course), "--out", str(out), "--json"])
    assert code == 1  # unreadable notebooks were listed
    data = json.loads(capsys.readouterr().out)
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("ana", "bo")]
    assert set(data["not_compared"]) == {"dan", "eli"}
    page = out.read_text(encoding="utf-8")
    assert "ana" in page and "<mark>" in page and "BEGIN SOLUTION" not in page
    assert main(["similarity", ASSIGNMENT, "--course", str(course), "--threshold", "2"]) == 2


def test_the_report_section_links_to_the_page_beside_it(course, tmp_path, capsys):
    layout = CourseLayout.load(course)
    section = similarity_section(layout, ASSIGNMENT, tmp_path)
    assert "<h2>Similar submissions</h2>" in section
    assert "<td>ana</td><td>bo</td>" in section
    assert "k_h" not in section  # nothing of the solution
    assert "href=" not in section  # no page in that folder
    assert main(["similarity", ASSIGNMENT, "--course", str(course)]) == 1
    printed = capsys.readouterr().out
    assert "ana" in printed and "not compared: dan: demo.ipynb: not valid JSON" in printed
    assert (course / "reports" / f"{ASSIGNMENT}-similarity.html").is_file()
    section = similarity_section(layout, ASSIGNMENT, course / "reports")
    assert f"href='{ASSIGNMENT}-similarity.html'" in section
    assert similarity_section(layout, "other", tmp_path) == ""
