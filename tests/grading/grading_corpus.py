"""The adversarial corpus: submissions of lesson 02 that attack the grader or are broken.

Everything is built from the real instructor notebook (``solutions/02_cross_correlation``): the
honest submission is the released notebook with the instructor's answers filled in, and every
other entry changes it in one way.  Each :class:`Entry` says what the grader must make of it:
the most points each test cell may get (an attack never earns more than its honest part), the
tests the grader must withhold for the instructor's review (evidence of tampering: every test
after the first suspicious cell), and the status and words its results file must show.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

ASSIGNMENT = "02_cross_correlation"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def _autograded_tests() -> dict[str, float]:
    """grade id -> points of every autograded test cell of the instructor notebook, in order."""
    path = Path(__file__).resolve().parents[2] / "solutions" / ASSIGNMENT / NOTEBOOK
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    tests = {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            tests[meta["grade_id"]] = float(meta["points"])
    return tests


TESTS = _autograded_tests()
# The tests this corpus was written around; a lesson may add more (graded like any other).
assert {"test-output-shape", "test-corr2d", "test-corr2d-fast", "test-corr2d-matmul"} <= set(TESTS)
FULL = sum(TESTS.values())
# Strings that must never reach a student-facing file (autograded notebook, results message).
OTHER_STUDENT_CANARY = "CANARY-OTHER-STUDENT-d41d8cd9"
SECRET_MARKERS = (
    OTHER_STUDENT_CANARY,
    "BEGIN HIDDEN TESTS",
    "BEGIN SOLUTION",
    "SQLite format 3",
    "root:*:",
    "root:x:0:0",
)

WRONG_CORR2D = '''def corr2d(X, K):
    """Wrong on purpose: all zeros."""
    import torch
    return torch.zeros(X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1)
'''
WRONG_FAST = WRONG_CORR2D.replace("def corr2d(", "def corr2d_fast(")
SLOW_FAST = '''def corr2d_fast(X, K):
    """Correct but as slow as the loop."""
    import torch
    h, w = K.shape
    dtype = torch.promote_types(X.dtype, K.dtype)
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=dtype)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y
'''


@dataclass
class Entry:
    student: str
    files: dict[str, bytes]
    why: str
    max_points: dict[str, float] = field(default_factory=dict)  # default: full marks allowed
    min_points: dict[str, float] = field(default_factory=dict)  # the honest part that must stay
    status: str | tuple[str, ...] = "graded"
    detail: tuple[str, ...] = ()  # words the status detail must contain
    evidence: tuple[str, ...] = ()  # words some piece of evidence must contain
    withheld: tuple[str, ...] = ()  # the tests withheld for review (exactly these)

    def allowed(self, grade_id: str) -> float:
        if grade_id in self.withheld:
            return 0.0
        return self.max_points.get(grade_id, TESTS[grade_id])

    def least(self, grade_id: str) -> float:
        if grade_id in self.withheld:
            return 0.0
        return self.min_points.get(grade_id, 0.0)


def dumps(nb: dict) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def honest_notebook(spec, source_path) -> dict:
    """The released notebook with the instructor's answers: what a good student hands in."""
    from pathlib import Path

    nb_spec = spec.notebooks[ASSIGNMENT]
    source = json.loads(Path(source_path).read_text(encoding="utf-8"))
    by_id = {c.grade_id: c for c in nb_spec.cells}
    for cell in source["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
        # A student's answer has no solution markers (they are the instructor's).
        cell["source"] = "\n".join(
            line
            for line in cell["source"].split("\n")
            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
        )
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in by_id and by_id[gid].role in ("test", "locked"):
            cell["source"] = by_id[gid].student_source
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return source


def _index(nb: dict, grade_id: str) -> int:
    for i, cell in enumerate(nb["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def _code(source: str) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


def with_solution(nb: dict, grade_id: str, source: str) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"][_index(nb, grade_id)]["source"] = source
    return nb


def insert_after(nb: dict, grade_id: str | None, source: str) -> dict:
    """A new code cell after cell ``grade_id`` (None: after the first code cell)."""
    nb = copy.deepcopy(nb)
    if grade_id is None:
        at = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code") + 1
    else:
        at = _index(nb, grade_id) + 1
    nb["cells"].insert(at, _code(source))
    return nb


def after(nb: dict, grade_id: str | None) -> tuple[str, ...]:
    """The tests below cell ``grade_id`` (None: below the first code cell): those a tampering
    cell there makes the grader withhold."""
    if grade_id is None:
        at = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    else:
        at = _index(nb, grade_id)
    return tuple(g for g in TESTS if _index(nb, g) > at)


def _submission(nb: dict, name: str = NOTEBOOK) -> dict[str, bytes]:
    return {name: dumps(nb)}


def build(spec, course_root) -> list[Entry]:
    """Every entry of the corpus, for a course in ``course_root``."""
    honest = honest_notebook(spec, f"{course_root}/solutions/{ASSIGNMENT}/{NOTEBOOK}")
    root = str(course_root)
    zero = {"test-corr2d": 0.0}
    entries = [
        Entry(
            "honest1", _submission(honest), "an honest, correct submission", min_points=dict(TESTS)
        ),
        Entry(
            "honest2",
            _submission(
                insert_after(
                    honest, "corr2d", f"# {OTHER_STUDENT_CANARY}\nnote = 'my own scratch work'"
                )
            ),
            "another honest submission, with a canary the others must never see",
            min_points=dict(TESTS),
        ),
    ]

    # ---------------------------------------------------------------- attacks on the verdict
    patched = with_solution(
        honest,
        "corr2d",
        WRONG_CORR2D
        + """
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
""",
    )
    entries.append(
        Entry(
            "atk_allclose",
            _submission(patched),
            "wrong corr2d + torch.allclose/equal/__eq__ patched",
            max_points=zero,
            evidence=("monkeypatches torch.allclose",),
            withheld=after(honest, "corr2d"),
        )
    )
    liar = with_solution(
        honest,
        "corr2d",
        """class Liar:
    shape = property(lambda self: (0, 0))
    dtype = None
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    def __array__(self, *a, **k):
        raise TypeError("no")

def corr2d(X, K):
    return Liar()
""",
    )
    entries.append(
        Entry(
            "atk_always_eq",
            _submission(liar),
            "corr2d returns an object whose == is always true",
            max_points=zero,
            evidence=("__eq__ that is always true",),
            withheld=after(honest, "corr2d"),
        )
    )
    transformer = insert_after(
        honest,
        None,
        """ip = get_ipython()
def _skip_tests(lines):
    return ["pass\\n"] if any("check_" in line for line in lines) else lines
ip.input_transformers_cleanup.append(_skip_tests)
""",
    )
    for gid, wrong in (("corr2d", WRONG_CORR2D), ("corr2d-fast", WRONG_FAST)):
        transformer = with_solution(transformer, gid, wrong)
    entries.append(
        Entry(
            "atk_transformer",
            _submission(transformer),
            "an IPython input transformer turns the test cells into `pass` (wrong answers)",
            max_points={
                "test-corr2d": 0,
                "test-corr2d-fast": 0,
                "test-corr2d-fast-pass": 0,
                "test-corr2d-fast-full": 0,
            },
            evidence=("input transformer",),
            withheld=after(honest, None),
        )
    )
    builtins = with_solution(
        honest,
        "corr2d",
        WRONG_CORR2D
        + """
import builtins
builtins.isinstance = lambda *a: True
builtins.len = lambda x: 0
builtins.print = lambda *a, **k: None
""",
    )
    entries.append(
        Entry(
            "atk_builtins",
            _submission(builtins),
            "wrong corr2d + isinstance, len and print redefined",
            max_points=zero,
            evidence=("redefines the builtin isinstance",),
            withheld=after(honest, "corr2d"),
        )
    )
    sysmod = insert_after(
        with_solution(honest, "corr2d", WRONG_CORR2D),
        None,
        """import sys, types
fake = types.ModuleType("convcourse.checks")
for name in ("check_output_shape", "check_corr2d", "check_convolve2d", "check_corr2d_fast",
             "check_corr2d_speed", "check_kernel_matrix"):
    setattr(fake, name, lambda *a, **k: print("✔ all tests passed"))
fake.student_seed = lambda: 0
sys.modules["convcourse.checks"] = fake
import convcourse
convcourse.checks = fake
from convcourse.checks import *
""",
    )
    entries.append(
        Entry(
            "atk_sysmodules",
            _submission(sysmod),
            "wrong corr2d + convcourse.checks replaced in sys.modules",
            max_points=zero,
            evidence=("imports sys",),
            withheld=after(honest, None),
        )
    )
    fake = with_solution(honest, "corr2d", WRONG_CORR2D + 'print("All tests passed ✔")\n')
    fake["cells"][_index(fake, "test-corr2d")]["outputs"] = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "✔ corr2d: cross-correlation is right on 11 cases\nAll tests passed\n",
        }
    ]
    fake["cells"][_index(fake, "test-corr2d")]["execution_count"] = 7
    entries.append(
        Entry(
            "atk_fake_output",
            _submission(fake),
            "wrong corr2d + outputs that claim the tests passed",
            max_points=zero,
            evidence=("imitates a test result",),
            withheld=after(honest, "corr2d"),
        )
    )
    timing = with_solution(
        honest,
        "corr2d-fast",
        SLOW_FAST
        + """
import time
_real = time.perf_counter
_start = _real()
time.perf_counter = lambda: _start + (_real() - _start) / 1000.0
""",
    )
    entries.append(
        Entry(
            "atk_fake_timing",
            _submission(timing),
            "a slow corr2d_fast with time.perf_counter slowed 1000x",
            status=("graded", "timeout"),
            max_points={"test-corr2d-fast-pass": 0, "test-corr2d-fast-full": 0},
            evidence=("monkeypatches time.perf_counter",),
            withheld=after(honest, "corr2d-fast"),
        )
    )

    hardcoded = with_solution(
        honest,
        "output-shape",
        """def output_shape(X_shape, K_shape):
    if X_shape[0] > 19 or X_shape[1] > 19:
        return (1, 1)  # only the small visible cases are right
    return (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)
""",
    )
    entries.append(
        Entry(
            "hidden_only",
            _submission(hardcoded),
            "right on the visible cases only: the hidden ones catch it",
            max_points={"test-output-shape": 0},
        )
    )

    # ---------------------------------------------------------------- attacks on the process
    exits = insert_after(honest, "test-convolve2d", "import os\nos._exit(0)\n")
    entries.append(
        Entry(
            "atk_exit",
            _submission(exits),
            "os._exit(0) in the middle of the notebook",
            min_points={"test-output-shape": 1, "test-corr2d": 2, "test-convolve2d": 2},
            max_points={
                "test-corr2d-fast": 0,
                "test-corr2d-fast-pass": 0,
                "test-corr2d-fast-full": 0,
                "test-corr2d-matmul": 0,
            },
            status="crashed",
            detail=("ended its own process",),
            evidence=("imports os",),
            withheld=after(honest, "test-convolve2d"),
        )
    )
    kill = insert_after(
        honest,
        None,
        """import os, signal
for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as exc:
        print("kill", target, "refused:", exc)
""",
    )
    entries.append(
        Entry(
            "atk_kill_parent",
            _submission(kill),
            "kills its parent and pid 1, then answers correctly",
            min_points=dict(TESTS),
            evidence=("imports os", "imports signal"),
            withheld=after(honest, None),
        )
    )
    killself = insert_after(
        honest, "test-output-shape", "import os, signal\nos.killpg(os.getpgrp(), signal.SIGKILL)\n"
    )
    entries.append(
        Entry(
            "atk_kill_group",
            _submission(killself),
            "kills its own process group",
            status="crashed",
            min_points={"test-output-shape": 1},
            max_points={g: 0 for g in TESTS if g != "test-output-shape"},
            detail=("signal 9",),
            evidence=("imports os",),
            withheld=after(honest, "test-output-shape"),
        )
    )
    secrets = insert_after(
        honest,
        None,
        f"""import glob, os
stolen = {{}}
for path in ["/etc/shadow", "/etc/passwd", {root!r} + "/gradebook.db",
             {root!r} + "/solutions/{ASSIGNMENT}/{NOTEBOOK}",
             {root!r} + "/submitted/honest2/{ASSIGNMENT}/{NOTEBOOK}",
             "/proc/1/environ", "/root/.bash_history"]:
    try:
        with open(path, "rb") as f:
            stolen[path] = f.read(4000).decode("latin-1")
    except OSError as exc:
        stolen[path] = "refused: " + type(exc).__name__
for pattern in ["/work/*", "/home/*", "/root/*", {root!r} + "/*", "/tmp/*"]:
    stolen[pattern] = ", ".join(glob.glob(pattern))
print(stolen)
with open("loot.txt", "w") as f:
    f.write(repr(stolen))
""",
    )
    entries.append(
        Entry(
            "atk_secrets",
            _submission(secrets),
            "reads /etc/shadow, the gradebook, the solutions and another "
            "student's notebook, and prints them",
            min_points=dict(TESTS),
            evidence=("refers to '/etc/shadow'",),
            withheld=after(honest, None),
        )
    )
    net = insert_after(
        honest,
        None,
        """import socket
for family, address in ((socket.AF_INET, ("1.1.1.1", 80)), (socket.AF_INET6, ("::1", 80))):
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(address)
        print("CONNECTED", address)
    except OSError as exc:
        print("network refused:", exc)
""",
    )
    entries.append(
        Entry(
            "atk_network",
            _submission(net),
            "opens sockets to the internet",
            min_points=dict(TESTS),
            evidence=("imports socket",),
            withheld=after(honest, None),
        )
    )
    writes = insert_after(
        honest,
        None,
        f"""import os
for path in ["/tmp/pwned", {root!r} + "/pwned.txt", "/etc/pwned", "/usr/pwned",
             {root!r} + "/gradebook.db", "/dev/shm/pwned"]:
    try:
        with open(path, "a") as f:
            f.write("pwned")
        print("WROTE", path)
    except OSError as exc:
        print("write refused:", path, type(exc).__name__)
""",
    )
    entries.append(
        Entry(
            "atk_write",
            _submission(writes),
            "writes outside its scratch folder",
            evidence=("imports os",),
            withheld=after(honest, None),
        )
    )
    # The children sleep rather than spin: the point is the process table (and that they
    # are all gone afterwards), without burning the CI machine's two cores for the time-out.
    fork = insert_after(
        honest,
        None,
        """import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError as exc:
    print("fork refused after", children, "children:", exc)
""",
    )
    entries.append(
        Entry(
            "atk_fork_bomb",
            _submission(fork),
            "a fork bomb",
            min_points=dict(TESTS),
            evidence=("imports os",),
            withheld=after(honest, None),
        )
    )
    memory = insert_after(
        honest,
        "test-output-shape",
        """import torch
hog = []
while True:
    hog.append(torch.ones(10**8))
""",
    )
    entries.append(
        Entry(
            "atk_memory",
            _submission(memory),
            "a memory bomb",
            status="memory",
            detail=("memory",),
            min_points={"test-output-shape": 1},
        )
    )
    loop = insert_after(honest, "test-corr2d", "while True:\n    pass\n")
    entries.append(
        Entry(
            "atk_loop",
            _submission(loop),
            "an infinite loop after the corr2d test",
            min_points={"test-output-shape": 1, "test-corr2d": 2},
            max_points={g: 0 for g in TESTS if g not in ("test-output-shape", "test-corr2d")},
            status="timeout",
            detail=("timed out after",),
        )
    )
    output = insert_after(honest, None, "for _ in range(10**6):\n    print('x' * 100)\n")
    entries.append(
        Entry("atk_output", _submission(output), "prints 100 MB", min_points=dict(TESTS))
    )

    # --------------------------------------------------------------------- broken formats
    text = dumps(honest)
    entries.append(
        Entry(
            "bad_json",
            {NOTEBOOK: text[: len(text) // 2]},
            "truncated JSON",
            max_points={g: 0 for g in TESTS},
            status="invalid",
            detail=("not valid JSON",),
        )
    )
    entries.append(
        Entry(
            "not_utf8",
            {NOTEBOOK: text.replace(b"corr2d", b"corr2d\xe9", 1)},
            "Latin-1 bytes in the file",
            max_points={g: 0 for g in TESTS},
            status="invalid",
            detail=("not UTF-8",),
        )
    )
    entries.append(
        Entry(
            "empty_file",
            {NOTEBOOK: b""},
            "an empty file",
            max_points={g: 0 for g in TESTS},
            status="invalid",
            detail=("empty",),
        )
    )
    nb5 = copy.deepcopy(honest)
    nb5["nbformat"] = 5
    entries.append(
        Entry(
            "nbformat5",
            _submission(nb5),
            "nbformat 5",
            max_points={g: 0 for g in TESTS},
            status="invalid",
            detail=("nbformat 5",),
        )
    )
    entries.append(
        Entry(
            "nbformat3",
            {NOTEBOOK: _as_v3(honest)},
            "an nbformat 3 notebook",
            min_points=dict(TESTS),
            detail=("nbformat 3",),
        )
    )
    deleted = copy.deepcopy(honest)
    del deleted["cells"][_index(deleted, "test-corr2d")]
    entries.append(
        Entry(
            "deleted_test",
            _submission(deleted),
            "test-corr2d deleted",
            min_points=dict(TESTS),
            detail=("cell test-corr2d deleted",),
        )
    )
    no_answer = copy.deepcopy(honest)
    del no_answer["cells"][_index(no_answer, "corr2d")]
    entries.append(
        Entry(
            "deleted_answer",
            _submission(no_answer),
            "the corr2d answer deleted",
            max_points=zero,
            detail=("cell corr2d deleted",),
        )
    )
    dup = copy.deepcopy(honest)
    at = _index(dup, "test-corr2d")
    dup["cells"].insert(at, copy.deepcopy(dup["cells"][at]))
    entries.append(
        Entry(
            "duplicated",
            _submission(dup),
            "test-corr2d duplicated",
            min_points=dict(TESTS),
            detail=("duplicated",),
        )
    )
    retyped = copy.deepcopy(honest)
    cell = retyped["cells"][_index(retyped, "corr2d")]
    cell["cell_type"] = "markdown"
    del cell["outputs"], cell["execution_count"]
    entries.append(
        Entry(
            "retyped",
            _submission(retyped),
            "the corr2d answer made markdown",
            min_points=dict(TESTS),
            detail=("changed from code to markdown",),
        )
    )
    stripped = copy.deepcopy(honest)
    stripped["cells"][_index(stripped, "test-corr2d")]["metadata"] = {}
    entries.append(
        Entry(
            "stripped",
            _submission(stripped),
            "test-corr2d stripped of its metadata",
            min_points=dict(TESTS),
            detail=("lost its nbgrader metadata",),
        )
    )
    entries.append(
        Entry(
            "renamed",
            _submission(honest, f"{ASSIGNMENT} (1).ipynb"),
            "the notebook renamed",
            min_points=dict(TESTS),
            detail=("submitted as",),
        )
    )
    entries.append(
        Entry(
            "missing",
            {"README.txt": b"I forgot the notebook"},
            "no notebook at all",
            max_points={g: 0 for g in TESTS},
            status="missing",
            detail=("no notebook submitted",),
        )
    )
    huge = copy.deepcopy(honest)
    first_code = next(c for c in huge["cells"] if c["cell_type"] == "code")
    first_code["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "y" * (33 * 2**20)}
    ]
    entries.append(
        Entry(
            "huge_notebook",
            _submission(huge),
            "a 33 MB notebook",
            max_points={g: 0 for g in TESTS},
            status="invalid",
            detail=("MB limit",),
        )
    )
    return entries


def _as_v3(nb: dict) -> bytes:
    import nbformat

    node = nbformat.reads(json.dumps(nb), as_version=4)
    v3 = nbformat.convert(node, 3)
    return nbformat.writes(v3, version=3).encode("utf-8")
