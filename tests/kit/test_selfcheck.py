"""``python -m convcourse.selfcheck`` (``course.py check``): each graded test cell is passed,
failing (with the check's reason) or not yet written; one broken lesson does not stop the rest.

The notebooks here are small lessons made for the test, run in the course's kernel
(``course.py setup`` registers it) so that they use the real checks.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from convcourse import selfcheck

CHECK_LINE = "✗ corr2d: Wrong values  [wrong_values]\n\nExpected ...\nWhy: ...\n"


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def test_a_cell_without_an_error_passed():
    stream = {"output_type": "stream", "name": "stdout", "text": "✔ corr2d: correct\n"}
    assert selfcheck.classify([stream]) == (selfcheck.PASSED, "")


@pytest.mark.parametrize(
    ("outputs", "verdict"),
    [
        ([_error("NotImplementedError", "")], None),
        ([_error("CheckFailed", "✗ corr2d: Not written yet  [not_implemented]")], None),
        ([_error("CheckFailed", "anything")], "not_implemented"),
    ],
)
def test_stubs_are_not_yet_written(outputs, verdict):
    assert selfcheck.classify(outputs, verdict) == (selfcheck.NOT_WRITTEN, "")


def test_a_failing_check_gives_its_one_line_reason():
    status, reason = selfcheck.classify([_error("CheckFailed", CHECK_LINE)], "wrong_values")
    assert (status, reason) == (selfcheck.FAILING, "Wrong values  [wrong_values]")
    status, reason = selfcheck.classify([_error("ValueError", "shapes differ\nmore")])
    assert (status, reason) == (selfcheck.FAILING, "ValueError: shapes differ")


def _kernel_or_skip():
    from jupyter_client.kernelspec import find_kernel_specs

    if selfcheck.KERNEL_NAME not in find_kernel_specs():
        pytest.skip("the course's kernel is not installed here (run `python3 course.py setup`)")


def _lesson(folder, name: str, cells: list) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    (folder / name).mkdir(parents=True)
    nbformat.write(nb, folder / name / f"{name}.ipynb")


def _answer(source: str, grade_id: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": grade_id}
    return cell


def _test(source: str, grade_id: str, points: int = 1):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "solution": False,
        "grade": True,
        "grade_id": grade_id,
        "points": points,
    }
    return cell


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Two small lessons and a broken one, checked by ``selfcheck.main`` in one run."""
    _kernel_or_skip()
    folder = tmp_path_factory.mktemp("notebooks")
    setup = nbformat.v4.new_code_cell(
        "from convcourse.checks import check_corr2d, check_output_shape"
    )
    _lesson(
        folder,
        "01_mixed",
        [
            nbformat.v4.new_markdown_cell("# A lesson"),
            setup,
            _answer("def output_shape(X_shape, K_shape):\n    raise NotImplementedError()", "os"),
            _test("check_output_shape(output_shape)", "test-output-shape"),
            _answer("def corr2d(X, K):\n    return X[: 1, : 1] * 0", "corr2d"),
            _test("check_corr2d(corr2d)", "test-corr2d", 2),
            _test("assert 1 + 1 == 2", "test-arithmetic"),
        ],
    )
    (folder / "02_broken").mkdir()
    (folder / "02_broken" / "02_broken.ipynb").write_text("{ not json", encoding="utf-8")
    _lesson(
        folder,
        "03_after_broken",
        [
            nbformat.v4.new_code_cell("import no_such_module_here"),
            _test("print('fine')", "test-fine"),
        ],
    )
    out = folder / "results.json"
    args = ["--notebooks", str(folder), "--json", str(out), "--timeout", "120"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVCOURSE_STATIC", "1")  # main() would set it for its kernels otherwise
        code = selfcheck.main(args)
    return code, {r["lesson"]: r for r in json.loads(out.read_text(encoding="utf-8"))}


def test_each_test_cell_is_classified(results):
    code, by_lesson = results
    assert code == 0
    tests = {t["grade_id"]: t for t in by_lesson["01_mixed"]["tests"]}
    assert tests["output-shape"]["status"] == selfcheck.NOT_WRITTEN
    assert tests["corr2d"]["status"] == selfcheck.FAILING
    assert "[" in tests["corr2d"]["reason"] and tests["corr2d"]["reason"].endswith("]")
    assert tests["arithmetic"]["status"] == selfcheck.PASSED
    assert tests["corr2d"]["points"] == 2


def test_a_broken_lesson_is_reported_and_the_others_still_run(results):
    _, by_lesson = results
    assert "cannot read" in by_lesson["02_broken"]["problem"]
    after = by_lesson["03_after_broken"]
    assert [t["status"] for t in after["tests"]] == [selfcheck.PASSED]
    # an error outside the tests is named: it is often why the tests below it fail
    assert "ModuleNotFoundError" in after["problem"]


def test_the_printed_report_has_a_row_per_lesson_and_a_total(results, capsys):
    _, by_lesson = results
    lessons = [selfcheck.LessonResult(**{**r, "tests": []}) for r in by_lesson.values()]
    for lesson, data in zip(lessons, by_lesson.values(), strict=True):
        lesson.tests = [selfcheck.TestResult(**t) for t in data["tests"]]
    text = selfcheck.report(lessons)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:] if line.strip()}
    assert rows["01_mixed"] == ["1", "1", "1"]
    assert rows["total"] == ["2", "1", "1"]
    assert "not yet written" in text.splitlines()[0]


def test_an_unknown_lesson_is_a_usage_error(tmp_path):
    _lesson(tmp_path, "01_only", [])
    with pytest.raises(SystemExit, match="no such lesson: 99_nope"):
        selfcheck.main(["--notebooks", str(tmp_path), "99_nope"])
