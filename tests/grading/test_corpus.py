"""The adversarial corpus, graded in one sandboxed batch; asserted through nbgrader's API.

No attack may earn more than its honest part, each broken format gets its specific status, the
batch finishes, nothing secret reaches a student-facing file, nothing a submission started
survives it, and the submitted files are never modified.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from grading_corpus import SECRET_MARKERS, TESTS

ASSIGNMENT = "02_cross_correlation"


def _results(batch, student):
    path = batch["layout"].results_file(ASSIGNMENT, student)
    return json.loads(path.read_text(encoding="utf-8"))


def _gradebook_scores(batch):
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(batch["layout"].db_url) as gb:
        for entry in batch["entries"]:
            sub = gb.find_submission(ASSIGNMENT, entry.student)
            notebook = sub.notebooks[0]
            scores[entry.student] = {g.name: g.auto_score for g in notebook.grades}
    return scores


def test_the_batch_finishes_and_reports_every_submission(corpus_batch):
    summary = corpus_batch["summary"]
    students = {e.student for e in corpus_batch["entries"]}
    assert set(summary.graded) == students
    assert summary.exit_code() == 1  # broken submissions are problems, recorded one by one


def test_no_attack_earns_more_than_its_honest_part(corpus_batch):
    scores = _gradebook_scores(corpus_batch)
    too_much, too_little = [], []
    for entry in corpus_batch["entries"]:
        got = scores[entry.student]
        for grade_id in TESTS:
            score = got[grade_id] or 0.0
            if score > entry.allowed(grade_id) + 1e-9:
                too_much.append(f"{entry.student} ({entry.why}): {grade_id} = {score}")
            if score < entry.least(grade_id) - 1e-9:
                too_little.append(f"{entry.student} ({entry.why}): {grade_id} = {score}")
    assert not too_much, "attacks raised scores:\n" + "\n".join(too_much)
    assert not too_little, "honest parts lost points:\n" + "\n".join(too_little)


def test_gradebook_and_results_files_agree(corpus_batch):
    scores = _gradebook_scores(corpus_batch)
    for entry in corpus_batch["entries"]:
        data = _results(corpus_batch, entry.student)
        cells = {c["grade_id"]: c["points"] for c in data["notebooks"][ASSIGNMENT]["cells"]}
        assert cells == {g: scores[entry.student][g] for g in TESTS}, entry.student
        assert data["score"] == pytest.approx(sum(cells.values()))
        assert data["schema"] == 2 and data["student_id"] == entry.student


@pytest.mark.parametrize("field", ["status", "detail", "evidence"])
def test_each_submission_gets_its_specific_status(corpus_batch, field):
    wrong = []
    for entry in corpus_batch["entries"]:
        data = _results(corpus_batch, entry.student)
        if field == "status":
            allowed = (entry.status,) if isinstance(entry.status, str) else entry.status
            if data["status"] not in allowed:
                wrong.append(f"{entry.student}: {data['status']} ({data['status_detail']})")
        elif field == "detail":
            for words in entry.detail:
                if words not in data["status_detail"]:
                    wrong.append(f"{entry.student}: {words!r} not in {data['status_detail']!r}")
        else:
            seen = [str(e.get("what")) for e in data["evidence"]]
            for words in entry.evidence:
                if not any(words in what for what in seen):
                    wrong.append(f"{entry.student}: no evidence with {words!r} in {seen}")
    assert not wrong, "\n".join(wrong)


def test_evidence_withholds_exactly_the_tests_after_it_for_review(corpus_batch):
    """Tampering evidence: the tests that ran after it get 0 and are marked for manual grading
    in the gradebook, with the evidence on the answer cell they check; the others are not."""
    from nbgrader.api import Gradebook

    wrong = []
    with Gradebook(corpus_batch["layout"].db_url) as gb:
        for entry in corpus_batch["entries"]:
            data = _results(corpus_batch, entry.student)
            if set(data.get("withheld", [])) != set(entry.withheld):
                wrong.append(f"{entry.student}: withheld {data.get('withheld')}")
                continue
            if not entry.withheld:
                continue
            notebook = gb.find_submission(ASSIGNMENT, entry.student).notebooks[0]
            grades = {g.name: g for g in notebook.grades}
            for grade_id in entry.withheld:
                grade = grades[grade_id]
                if grade.auto_score != 0 or not grade.needs_manual_grade:
                    wrong.append(f"{entry.student}: {grade_id} not marked for review")
            notes = " ".join(c.auto_comment or "" for c in notebook.comments)
            if "withheld for the instructor's review" not in notes:
                wrong.append(f"{entry.student}: no evidence in the answer cells' comments")
    assert not wrong, "\n".join(wrong)


def test_hidden_test_failures_show_no_hidden_case(corpus_batch):
    data = _results(corpus_batch, "hidden_only")
    cell = next(
        c for c in data["notebooks"][ASSIGNMENT]["cells"] if c["grade_id"] == "test-output-shape"
    )
    assert not cell["passed"]
    visible, hidden = cell["message"].split("(hidden tests)", 1)
    assert visible.startswith("✔")  # the visible cases passed
    assert "[wrong_shape]" in hidden  # the mistake is named ...
    # ... but the failing hidden case (its shapes, expected and returned values) is not shown.
    assert "X_shape" not in hidden and " got " not in hidden
    assert not re.search(r"\(\d+, \d+\)", hidden)


def test_honest_submissions_need_no_manual_review(corpus_batch):
    from nbgrader.api import Gradebook

    with Gradebook(corpus_batch["layout"].db_url) as gb:
        for student in ("honest1", "honest2"):
            sub = gb.find_submission(ASSIGNMENT, student)
            assert sub.score == pytest.approx(sum(TESTS.values()) + 0)
            auto = {g.name: g for g in sub.notebooks[0].grades}
            for grade_id in TESTS:
                assert not auto[grade_id].needs_manual_grade
            # The free-response answer was changed from the stub: a person grades it.
            assert auto["fr-flip"].auto_score is None and auto["fr-flip"].needs_manual_grade


def test_nothing_secret_reaches_student_facing_files(corpus_batch):
    root = corpus_batch["root"]
    leaks = []
    facing = list((root / "autograded").rglob("*.ipynb"))
    facing += list((root / ".grading" / "results").rglob("*.json"))
    for path in facing:
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in SECRET_MARKERS:
            if marker in text:
                owner = path.parts[-3] if path.suffix == ".ipynb" else path.stem
                # honest2's own canary may appear in honest2's own notebook, nowhere else
                if marker.startswith("CANARY") and owner == "honest2":
                    continue
                leaks.append(f"{path.relative_to(root)}: {marker}")
    assert not leaks, "secrets in student-facing files:\n" + "\n".join(leaks)


def test_the_secrets_attack_saw_nothing(corpus_batch):
    text = _outputs(corpus_batch, "atk_secrets")
    assert text.count("refused: ") == 7  # the attack ran, and every one of its reads failed
    root = str(corpus_batch["root"])
    assert f"'{root}/*': ''" in text  # the course folder does not even exist in there
    for marker in SECRET_MARKERS:
        assert marker not in text


def _outputs(batch, student) -> str:
    """All the output text of a student's autograded notebook."""
    path = batch["root"] / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


def test_network_and_writes_outside_scratch_fail(corpus_batch):
    root = corpus_batch["root"]
    net = _outputs(corpus_batch, "atk_network")
    assert "network refused" in net and "CONNECTED" not in net
    wrote = _outputs(corpus_batch, "atk_write")
    assert "write refused" in wrote and "WROTE" not in wrote
    assert not (root / "pwned.txt").exists()
    assert not os.path.exists("/tmp/pwned") and not os.path.exists("/etc/pwned")


def test_kill_attempts_are_refused(corpus_batch):
    assert _outputs(corpus_batch, "atk_kill_parent").count("refused") >= 2


def test_no_process_of_a_submission_survives(corpus_batch):
    """Every submission ran under a user id of 2**20 or more: none of them may be left."""
    left = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if uid >= 2**20:
            left.append(entry)
    assert not left, f"sandboxed processes still running: {left}"


def test_submitted_files_are_never_modified(corpus_batch):
    root = corpus_batch["root"]
    for path, data in corpus_batch["originals"].items():
        assert path.read_bytes() == data, path
    now = {p for p in (root / "submitted").rglob("*") if p.is_file()}
    assert now == set(corpus_batch["originals"])


def test_autograded_notebooks_are_valid_for_nbgrader(corpus_batch):
    import nbformat

    folder = corpus_batch["root"] / "autograded" / "honest1" / ASSIGNMENT
    nb = nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)
    nbformat.validate(nb)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert all(g in ids for g in TESTS)
    test_cell = nb.cells[ids.index("test-corr2d")]
    assert "HIDDEN" not in test_cell.source
    assert test_cell.outputs and test_cell.outputs[0].output_type == "stream"


def test_feedback_pages_leak_nothing_either(corpus_batch):
    """End to end: the students' feedback pages made from this gradebook (outputs helper's
    generate_feedback) hold no hidden test, solution, gradebook content or other student's work."""
    from convcourse.instructor.reporting.feedback import generate_feedback

    layout = corpus_batch["layout"]
    pages = generate_feedback(layout.root, ASSIGNMENT, db_url=layout.db_url)
    assert len(pages) >= len(corpus_batch["entries"]) - 1  # "missing" may get no page
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        owner = page.relative_to(layout.root / "feedback").parts[0]
        for marker in SECRET_MARKERS:
            if marker.startswith("CANARY") and owner == "honest2":
                continue
            assert marker not in text, f"{page}: {marker}"
