"""Throughput of ``convcourse autograde`` against ``nbgrader autograde`` on the same batch.

Run: ``python benchmarks/grading_throughput.py`` (100 submissions; ``--n 10`` for a quick run).

It makes N honest submissions of one lesson from the instructor notebook -- the released cells
with answers filled in, drawn from several correct ways to write each function, and about one in
five with an honest mistake -- copies them into two identical course folders, and times, as an
instructor would run them:

- ``nbgrader generate_assignment`` (untimed, registers the assignment) then
  ``nbgrader autograde LESSON`` (one call for the whole batch), and
- ``convcourse autograde LESSON --workers W`` (sandboxed).

Then it compares every autograded cell's score in the two gradebooks and prints the table and
the ratio of throughputs.  Exit code 1 if a score differs (or the ratio is under --min-ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LESSON = "02_cross_correlation"

# Correct answers, several per exercise (all honest).  Keys are the solution cells' grade ids.
# The fast ones are well clear of the speed thresholds: a function right at a threshold gets
# different timing verdicts from run to run, in nbgrader as anywhere.
ANSWERS = {
    "output-shape": [
        "def output_shape(X_shape, K_shape):\n"
        "    (n_h, n_w), (k_h, k_w) = X_shape, K_shape\n"
        "    return (n_h - k_h + 1, n_w - k_w + 1)\n",
        "def output_shape(X_shape, K_shape):\n"
        "    return tuple(int(n) - int(k) + 1 for n, k in zip(X_shape, K_shape))\n",
    ],
    "corr2d": [
        "def corr2d(X, K):\n"
        "    h, w = K.shape\n"
        "    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1),\n"
        "                    dtype=torch.promote_types(X.dtype, K.dtype))\n"
        "    for i in range(Y.shape[0]):\n"
        "        for j in range(Y.shape[1]):\n"
        "            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()\n"
        "    return Y\n",
        "def corr2d(X, K):\n"
        "    k_h, k_w = K.shape\n"
        "    rows, cols = X.shape[0] - k_h + 1, X.shape[1] - k_w + 1\n"
        "    out = torch.zeros(rows, cols, dtype=torch.promote_types(X.dtype, K.dtype))\n"
        "    for r in range(rows):\n"
        "        for c in range(cols):\n"
        "            window = X[r:r + k_h, c:c + k_w]\n"
        "            out[r, c] = torch.sum(window * K)\n"
        "    return out\n",
    ],
    "convolve2d": [
        "def convolve2d(X, K):\n"
        "    K = torch.flip(K, dims=(0, 1))\n"
        "    h, w = K.shape\n"
        "    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1\n"
        "    return sum(K[a, b] * X[a:a + o_h, b:b + o_w] for a in range(h) for b in range(w))\n",
        "def convolve2d(X, K):\n    return corr2d(X, K.flip(0).flip(1))\n",
    ],
    "corr2d-fast": [
        "def corr2d_fast(X, K):\n"
        "    h, w = K.shape\n"
        "    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1\n"
        "    dtype = torch.promote_types(X.dtype, K.dtype)\n"
        "    X, K = X.to(dtype), K.to(dtype)\n"
        "    Y = torch.zeros((o_h, o_w), dtype=dtype)\n"
        "    for a in range(h):\n"
        "        for b in range(w):\n"
        "            Y += K[a, b] * X[a:a + o_h, b:b + o_w]\n"
        "    return Y\n",
        "def corr2d_fast(X, K):\n"
        "    h, w = K.shape\n"
        "    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1\n"
        "    return sum(K[a, b] * X[a:a + o_h, b:b + o_w]\n"
        "               for a in range(h) for b in range(w))\n",
    ],
    "corr2d-matmul": [
        "def kernel_matrix(K, X_shape):\n"
        "    n_h, n_w = X_shape\n"
        "    k_h, k_w = K.shape\n"
        "    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1\n"
        "    M = torch.zeros((o_h, o_w, n_h, n_w), dtype=K.dtype)\n"
        "    for i in range(o_h):\n"
        "        for j in range(o_w):\n"
        "            M[i, j, i:i + k_h, j:j + k_w] = K\n"
        "    return M.reshape(o_h * o_w, n_h * n_w)\n",
    ],
}
# Honest mistakes (cheap to run): the answer is wrong, the submission is not an attack.
MISTAKES = {
    "output-shape": "def output_shape(X_shape, K_shape):\n"
    "    return (X_shape[0] - K_shape[0], X_shape[1] - K_shape[1])\n",
    "convolve2d": "def convolve2d(X, K):\n    return corr2d(X, K)\n",  # forgot the flip
}


def honest_notebook(source_path: Path) -> dict:
    """The released notebook of the lesson with the instructor's answers filled in."""
    sys.path.insert(0, str(REPO))
    from convcourse.instructor.authoring.spec import load_spec
    from convcourse.instructor.layout import CourseLayout

    course = source_path.parents[2]
    spec = load_spec(CourseLayout.load(course), source_path.parent.name)
    cells = {c.grade_id: c for c in spec.notebooks[source_path.stem].cells}
    nb = json.loads(source_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in cells and cells[gid].role in ("test", "locked"):
            cell["source"] = cells[gid].student_source
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def make_batch(nb: dict, n: int, seed: int = 0) -> dict[str, bytes]:
    """``student id -> notebook bytes``: n honest variations of ``nb``."""
    rnd = random.Random(seed)
    batch = {}
    for k in range(n):
        variant = json.loads(json.dumps(nb))
        mistake = rnd.choice(sorted(MISTAKES)) if k % 5 == 4 else None
        for cell in variant["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in ANSWERS:
                cell["source"] = MISTAKES[gid] if gid == mistake else rnd.choice(ANSWERS[gid])
                cell["source"] += f"\n# submission {k}\n"
        text = json.dumps(variant, indent=1, ensure_ascii=False) + "\n"
        batch[f"s{k:03d}"] = text.encode("utf-8")
    return batch


def make_course(root: Path, lesson: str, batch: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / lesson, root / "solutions" / lesson)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for student, data in batch.items():
        folder = root / "submitted" / student / lesson
        folder.mkdir(parents=True)
        (folder / f"{lesson}.ipynb").write_bytes(data)
    return root


def _env() -> dict:
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    env.pop("CONVCOURSE_STUDENT_ID", None)
    return env


def run_nbgrader(root: Path, lesson: str) -> float:
    env = _env()
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run(
        [*nbgrader, "generate_assignment", lesson, "--force"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    start = time.perf_counter()
    run = subprocess.run(
        [*nbgrader, "autograde", lesson], cwd=root, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{run.stdout[-2000:]}{run.stderr[-3000:]}")
    return seconds


def run_convcourse(root: Path, lesson: str, workers: int, extra: list[str]) -> float:
    cmd = [
        sys.executable,
        "-m",
        "convcourse.instructor.cli",
        "autograde",
        lesson,
        "--course",
        str(root),
        "--workers",
        str(workers),
        "--no-progress",
        *extra,
    ]
    start = time.perf_counter()
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit(f"convcourse autograde failed:\n{run.stdout}{run.stderr[-3000:]}")
    return seconds


def scores(root: Path, lesson: str) -> dict[str, dict[str, float | None]]:
    """``student -> {test cell: auto score}`` from the gradebook, with nbgrader's API."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(lesson)
        tests = {
            c.name
            for nb in assignment.notebooks
            for c in nb.grade_cells
            if c.name.startswith("test-")
        }
        for sub in assignment.submissions:
            out[sub.student.id] = {
                g.name: g.auto_score for nb in sub.notebooks for g in nb.grades if g.name in tests
            }
    return out


def compare(a: dict, b: dict) -> list[str]:
    differ = []
    for student in sorted(set(a) | set(b)):
        for cell in sorted(set(a.get(student, {})) | set(b.get(student, {}))):
            x, y = a.get(student, {}).get(cell), b.get(student, {}).get(cell)
            if x != y:
                differ.append(f"{student} {cell}: nbgrader {x}, convcourse {y}")
    return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="submissions in the batch")
    parser.add_argument("--workers", type=int, default=2, help="convcourse worker slots")
    parser.add_argument("--lesson", default=LESSON)
    parser.add_argument("--keep", type=Path, help="keep the two course folders here")
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=0.0,
        help="exit 1 when convcourse is less than this many times faster",
    )
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="pass --no-sandbox to convcourse (machines without bubblewrap)",
    )
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="convcourse-bench-")) if args.keep is None else args.keep
    source = REPO / "solutions" / args.lesson / f"{args.lesson}.ipynb"
    staging = make_course(base / "staging", args.lesson, {})
    batch = make_batch(honest_notebook(staging / "solutions" / args.lesson / source.name), args.n)
    nbg = make_course(base / "nbgrader", args.lesson, batch)
    ours = make_course(base / "convcourse", args.lesson, batch)
    print(
        f"{args.n} submissions of {args.lesson}, {os.cpu_count()} CPUs, "
        f"convcourse with {args.workers} workers",
        flush=True,
    )
    t_nbgrader = run_nbgrader(nbg, args.lesson)
    print(f"nbgrader autograde:   {t_nbgrader:8.1f} s", flush=True)
    extra = ["--no-sandbox"] if args.no_sandbox else []
    t_ours = run_convcourse(ours, args.lesson, args.workers, extra)
    print(f"convcourse autograde: {t_ours:8.1f} s", flush=True)
    differ = compare(scores(nbg, args.lesson), scores(ours, args.lesson))
    ratio = t_nbgrader / t_ours
    rows = [("nbgrader autograde", t_nbgrader), ("convcourse autograde", t_ours)]
    print()
    print(f"| {'tool':22} | {'submissions':>11} | {'seconds':>8} | {'submissions/s':>13} |")
    print(f"|{'-' * 24}|{'-' * 13}|{'-' * 10}|{'-' * 15}|")
    for name, seconds in rows:
        print(f"| {name:22} | {args.n:11d} | {seconds:8.1f} | {args.n / seconds:13.2f} |")
    print(f"\nthroughput ratio (convcourse / nbgrader): {ratio:.1f}x")
    print(
        f"scores: {'identical' if not differ else f'{len(differ)} cell(s) differ'} "
        f"({args.n} submissions)"
    )
    for line in differ[:20]:
        print("  " + line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "n": args.n,
                    "workers": args.workers,
                    "nbgrader_s": t_nbgrader,
                    "convcourse_s": t_ours,
                    "ratio": ratio,
                    "differences": differ,
                },
                indent=1,
            )
        )
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    if differ or ratio < args.min_ratio:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
