"""Speed and accuracy of ``convcourse similarity`` on a class of synthetic submissions.

Run: ``python benchmarks/similarity.py`` (500 students, 20 of them planted copies; ``--n``,
``--copies``, ``--seed`` to change that).

It builds a course folder in a temporary directory with lesson 02's instructor notebook and N
submitted notebooks: the released notebook with its answer cells (output-shape, corr2d,
convolve2d, corr2d-fast) filled in by honest variants drawn from many small independent choices,
and COPIES planted copies of other students' answers (names renamed, spacing, blank lines and
comments changed, independent statements swapped); see ``tests/instructor/similarity_corpus.py``.
Then it times what ``convcourse similarity`` does -- reading the spec, reading every notebook,
comparing -- and prints the seconds of each step, the planted copies found, and the honest pairs
flagged.  Exit code 1 when a planted copy is missed or an honest pair is flagged.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "instructor"))

from similarity_corpus import LESSON, cohort  # noqa: E402

from convcourse.instructor.layout import CourseLayout  # noqa: E402
from convcourse.instructor.reporting.similarity import DEFAULT_THRESHOLD, find_similar  # noqa: E402
from convcourse.instructor.reporting.similarity_course import (  # noqa: E402
    answer_cells,
    collect_answers,
    similarity_page,
)


def build_course(root: Path, n: int, copies: int, seed: int):
    """A course in ``root`` with ``n`` submissions of lesson 02; the planted (original, copy)."""
    source = root / "source" / LESSON
    source.mkdir(parents=True)
    shutil.copy(REPO / "solutions" / LESSON / f"{LESSON}.ipynb", source)
    released = json.loads((REPO / "notebooks" / LESSON / f"{LESSON}.ipynb").read_text("utf-8"))
    answers, planted = cohort(n, copies, seed)
    rng = random.Random(seed)
    for student, mine in answers.items():
        nb = json.loads(json.dumps(released))
        for cell in nb["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in mine:
                cell["source"] = mine[gid]
        if rng.random() < 0.3:  # some students add a scratch cell
            scratch = {"cell_type": "code", "metadata": {}, "source": "print(X.shape)"}
            nb["cells"].insert(3, {**scratch, "outputs": [], "execution_count": None})
        folder = root / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return planted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="students")
    parser.add_argument("--copies", type=int, default=20, help="planted copies among them")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        planted = build_course(root, args.n, args.copies, args.seed)
        layout = CourseLayout.load(root)
        t0 = time.perf_counter()
        cells = answer_cells(layout, LESSON)
        t1 = time.perf_counter()
        answers, unreadable = collect_answers(layout, LESSON, cells)
        t2 = time.perf_counter()
        cpu = time.process_time()
        result = find_similar(answers, cells, args.threshold)
        cpu = time.process_time() - cpu
        t3 = time.perf_counter()
        similarity_page(result, LESSON)
        t4 = time.perf_counter()
    expected = {tuple(sorted(pair)) for pair in planted}
    found = {(p.a, p.b) for p in result.pairs}
    print(f"{args.n} students, {args.copies} planted copies, threshold {args.threshold:g}")
    print(f"  spec (load_spec, nbgrader preprocessors): {t1 - t0:6.2f} s")
    print(f"  reading {args.n} notebooks:                {t2 - t1:6.2f} s")
    print(f"  comparing (fingerprints, index, pairs):   {t3 - t2:6.2f} s  ({cpu:.2f} s CPU)")
    print(f"  the HTML page:                            {t4 - t3:6.2f} s")
    print(f"  similarity total (without the spec):      {t4 - t1:6.2f} s")
    print(f"planted copies found: {len(expected & found)} of {len(expected)}")
    print(f"honest pairs flagged: {len(found - expected)}")
    print(f"not compared: {len(unreadable)}")
    return 0 if found == expected else 1


if __name__ == "__main__":
    sys.exit(main())
