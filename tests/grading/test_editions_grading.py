"""Both editions in one batch: the same answers get the same score from the English and the
Chinese notebook, and each student's messages and feedback page are in their edition's language.

The submissions come from one Canvas export holding both editions, ingested and graded
sandboxed in one ``autograde`` run (the way an instructor with a mixed class grades).
"""

from __future__ import annotations

import json
import re

from course_builders import ASSIGNMENT, REPO, make_course
from grading_corpus import WRONG_CORR2D, dumps, honest_notebook, with_solution
from ingest_corpus import NOTEBOOK, Member, canvas, write_zip

from convcourse.instructor.grading.batch import BatchOptions, autograde
from convcourse.instructor.intake.ingest import ingest
from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.feedback import generate_feedback

ZH_SOURCE = REPO / "translations" / "zh" / "instructor" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _cells(results: dict) -> dict[str, float]:
    return {c["grade_id"]: c["points"] for c in results["notebooks"][ASSIGNMENT]["cells"]}


def test_a_mixed_export_grades_both_editions_alike(tmp_path, sandbox_available, lesson_spec):
    spec, _ = lesson_spec
    root = make_course(tmp_path / "course")
    english = honest_notebook(spec, REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    chinese = honest_notebook(spec, ZH_SOURCE)
    assert chinese["metadata"]["kernelspec"]["name"] == "convcourse-zh"
    assert english["metadata"]["kernelspec"]["name"] == "convcourse"
    # The same answers, cell for cell: only the prose differs.
    code = [c["source"] for c in english["cells"] if c["cell_type"] == "code"]
    assert code == [c["source"] for c in chinese["cells"] if c["cell_type"] == "code"]

    students = {
        "enright": english,
        "zhright": chinese,
        "enwrong": with_solution(english, "corr2d", WRONG_CORR2D),
        "zhwrong": with_solution(chinese, "corr2d", WRONG_CORR2D),
    }
    export = write_zip(
        tmp_path / "canvas.zip",
        [
            Member(canvas(name, 500 + n, 9000 + n, NOTEBOOK), dumps(nb))
            for n, (name, nb) in enumerate(students.items())
        ],
    )
    layout = CourseLayout.load(root)
    assert set(ingest(layout, ASSIGNMENT, export).written) == set(students)
    summary = autograde(layout, ASSIGNMENT, BatchOptions(workers=2, progress=False))
    assert summary.graded == dict.fromkeys(students, "graded")

    results = {
        s: json.loads(layout.results_file(ASSIGNMENT, s).read_text(encoding="utf-8"))
        for s in students
    }
    for s, data in results.items():
        expected = "zh" if s.startswith("zh") else "en"
        assert data["notebooks"][ASSIGNMENT]["language"] == expected, s
    assert results["enright"]["score"] == results["zhright"]["score"] == spec.auto_max_score
    assert _cells(results["enright"]) == _cells(results["zhright"])
    assert results["enwrong"]["score"] == results["zhwrong"]["score"] < spec.auto_max_score
    assert _cells(results["enwrong"]) == _cells(results["zhwrong"])

    def failing_message(student):
        cells = results[student]["notebooks"][ASSIGNMENT]["cells"]
        return next(c["message"] for c in cells if c["grade_id"] == "test-corr2d")

    assert CJK.search(failing_message("zhwrong")), failing_message("zhwrong")
    assert not CJK.search(failing_message("enwrong")), failing_message("enwrong")

    pages = {
        p.parts[-3]: p.read_text(encoding="utf-8") for p in generate_feedback(root, ASSIGNMENT)
    }
    assert '<html lang="zh-Hans">' in pages["zhwrong"] and "的反馈" in pages["zhwrong"]
    assert "可能的误解" in pages["zhwrong"]  # the misconception's heading, and its title below it
    assert '<html lang="en">' in pages["enwrong"] and "Likely misconception" in pages["enwrong"]
    assert not CJK.search(pages["enwrong"])
    assert "所有自动评分的练习都通过了" in pages["zhright"]
