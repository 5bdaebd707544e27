"""The attacks of the grading-integrity audit, as corpus entries of lesson 02.

By class (the audit's numbering): 1. free points from code shipped in the environment;
2. forged observations; 3. submissions that aborted the batch; 5. memory and processes between
submissions; 6. notebooks that cost the grader too much.  Each entry says what the grader must
make of it, in the vocabulary of ``grading_corpus.Entry``.  Class 4 (ingest) is in
``ingest_corpus.py``; the speed attacks of class 5 in ``test_speed_fairness.py``.
"""

from __future__ import annotations

import copy
import json

from grading_corpus import (
    NOTEBOOK,
    TESTS,
    Entry,
    _index,
    _submission,
    after,
    dumps,
    insert_after,
    with_solution,
)

ZERO = {g: 0.0 for g in TESTS}
LAST_TEST = list(TESTS)[-1]
# A frame of the grader's codec, written by hand: what a forger would send.
FORGE_FRAME = """
def _frame(message):
    body = json.dumps(message).encode()
    payload = b"CVC1" + len(body).to_bytes(4, "little") + body
    return len(payload).to_bytes(4, "little") + payload
"""


def build_integrity(honest: dict) -> list[Entry]:
    entries: list[Entry] = []
    add = entries.append

    # ------------------------------------------------- 1. free points from shipped code
    add(
        Entry(
            "free_d2l",
            _submission(
                with_solution(
                    honest, "corr2d", "from d2l import torch as d2l\ncorr2d = d2l.corr2d\n"
                )
            ),
            "corr2d is d2l.corr2d",
            max_points={"test-corr2d": 0},
            min_points={"test-output-shape": 1, "test-convolve2d": 2, "test-corr2d-matmul": 3},
        )
    )
    add(
        Entry(
            "free_d2l_wrapped",
            _submission(
                with_solution(
                    honest,
                    "corr2d",
                    "from d2l import torch as d2l\n\n\ndef corr2d(X, K):\n"
                    "    Y = d2l.corr2d(X, K)\n    return Y\n",
                )
            ),
            "corr2d wraps d2l.corr2d",
            max_points={"test-corr2d": 0},
            min_points={"test-output-shape": 1, "test-convolve2d": 2},
        )
    )
    add(
        Entry(
            "free_oracle",
            _submission(
                with_solution(
                    honest, "corr2d-fast", "from convcourse.oracle import xcorr2d as corr2d_fast\n"
                )
            ),
            "corr2d_fast is the checks' own library-backed correlation",
            max_points={g: 0 for g in after(honest, "corr2d-fast")},
            withheld=after(honest, "corr2d-fast"),
            evidence=("convcourse.oracle",),
        )
    )
    add(
        Entry(
            "free_conv_disabled",
            _submission(
                with_solution(
                    honest,
                    "corr2d-fast",
                    "import torch\nimport torch.nn.functional as F\n\n\ndef corr2d_fast(X, K):\n"
                    "    with torch._C.DisableTorchFunction():\n"
                    "        return F.conv2d(X[None, None], K[None, None])[0, 0]\n",
                )
            ),
            "F.conv2d under torch._C.DisableTorchFunction()",
            withheld=after(honest, "corr2d-fast"),
            evidence=("torch._C",),
        )
    )
    add(
        Entry(
            "free_aten",
            _submission(
                with_solution(
                    honest,
                    "corr2d-fast",
                    "import torch\n\n\ndef corr2d_fast(X, K):\n"
                    "    X4, K4 = X[None, None].double(), K[None, None].double()\n"
                    "    return torch.ops.aten.convolution(\n"
                    "        X4, K4, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1\n"
                    "    )[0, 0].to(torch.promote_types(X.dtype, K.dtype))\n",
                )
            ),
            "a private convolution entry point (torch.ops.aten.convolution)",
            withheld=after(honest, "corr2d-fast"),
            evidence=("torch.ops",),
        )
    )
    add(
        Entry(
            "free_traced_off",
            _submission(
                with_solution(
                    honest,
                    "corr2d-fast",
                    "import torch.nn.functional as F\nimport convcourse.checks.calls as calls\n"
                    "calls._TRACED = frozenset()\n\n\ndef corr2d_fast(X, K):\n"
                    "    return F.conv2d(X[None, None], K[None, None])[0, 0]\n",
                )
            ),
            "the checks' name table emptied, then F.conv2d",
            withheld=after(honest, "corr2d-fast"),
            evidence=("convcourse.checks.calls",),
        )
    )
    add(
        Entry(
            "free_conv_plain",
            _submission(
                with_solution(
                    honest,
                    "corr2d-fast",
                    "import torch.nn.functional as F\n\n\ndef corr2d_fast(X, K):\n"
                    "    return F.conv2d(X[None, None], K[None, None])[0, 0]\n",
                )
            ),
            "corr2d_fast is F.conv2d: no tampering, but it earns nothing",
            max_points={
                "test-corr2d-fast": 0,
                "test-corr2d-fast-pass": 0,
                "test-corr2d-fast-full": 0,
            },
            min_points={"test-corr2d": 2, "test-corr2d-matmul": 3},
        )
    )

    # ------------------------------------------------------ 2. forged observations
    unanswered = copy.deepcopy(honest)
    for gid in ("output-shape", "corr2d", "convolve2d", "corr2d-fast", "corr2d-matmul"):
        stub = unanswered["cells"][_index(unanswered, gid)]
        stub["source"] = stub["source"].split("\n")[0] + "\n    raise NotImplementedError()\n"
    forged_fd = insert_after(
        unanswered,
        None,
        "import os, json\n"
        + FORGE_FRAME
        + """
for step in ("test-output-shape", "test-corr2d", "test-convolve2d", "test-corr2d-fast",
             "test-corr2d-matmul"):
    for fd in os.listdir("/proc/self/fd"):
        try:
            os.write(int(fd), _frame({"t": "test", "step": step, "results": []}))
        except OSError:
            pass
""",
    )
    add(
        Entry(
            "forge_fd",
            _submission(forged_fd),
            "unanswered, and forged test frames written to every file descriptor",
            max_points=ZERO,
            withheld=after(honest, None),
            evidence=("imports os",),
        )
    )
    forged_gc = insert_after(
        unanswered,
        None,
        """import gc as _g
seen = [o for o in _g.get_objects() if isinstance(o, dict) and "calls" in o]
print(len(seen), "requests found")
""",
    )
    add(
        Entry(
            "forge_gc",
            _submission(forged_gc),
            "unanswered, and the grader's request looked for with gc.get_objects()",
            max_points=ZERO,
            withheld=after(honest, None),
            evidence=("imports gc",),
        )
    )
    swapper = insert_after(
        unanswered,
        None,
        """import threading, time
import torch.nn.functional as F
ns = get_ipython().user_ns
def _swap():
    while True:
        ns["corr2d"] = lambda X, K: F.conv2d(X[None, None], K[None, None])[0, 0]
        time.sleep(0.001)
threading.Thread(target=_swap, daemon=True).start()
""",
    )
    add(
        Entry(
            "forge_thread",
            _submission(swapper),
            "unanswered, and a daemon thread that swaps corr2d in the namespace",
            max_points=ZERO,
            withheld=after(honest, None),
            evidence=("threading",),
        )
    )

    # ------------------------------------------------- 3. one submission aborted the batch
    deep = copy.deepcopy(honest)
    nest: list = []
    for _ in range(700):
        nest = [nest]
    deep["metadata"]["deep"] = nest
    add(
        Entry(
            "deep_metadata",
            _submission(deep),
            "a list nested 700 deep in the notebook's metadata",
            min_points=dict(TESTS),
        )
    )
    surrogate = copy.deepcopy(honest)
    first_md = next(c for c in surrogate["cells"] if c["cell_type"] == "markdown")
    first_md["source"] += "\n\ud800 a lone surrogate"
    text = json.dumps(surrogate, ensure_ascii=True).encode("ascii")  # JSON may say \ud800
    add(
        Entry(
            "lone_surrogate",
            {NOTEBOOK: text},
            "a lone surrogate in a markdown cell",
            min_points=dict(TESTS),
        )
    )
    printer = insert_after(honest, "test-corr2d", 'print("before \\ud800 after")\n')
    add(
        Entry(
            "surrogate_output",
            _submission(printer),
            "a cell that prints a lone surrogate",
            min_points=dict(TESTS),
        )
    )
    files = _submission(honest)
    files["timestamp.txt"] = b"not a date at all"
    add(
        Entry(
            "own_timestamp",
            files,
            "a timestamp.txt of the student's own, which is not a date",
            min_points=dict(TESTS),
            detail=("timestamp.txt",),
        )
    )

    # -------------------------------------------- 5. memory outside the address space
    # After the last test: nothing is withheld, so only the sandbox decides what they get.
    memfd = insert_after(
        honest,
        LAST_TEST,
        "import os\ntry:\n    fd = os.memfd_create('hog')\n"
        "    os.write(fd, b'x' * (768 * 2**20))\nexcept OSError as exc:\n"
        "    print('memfd refused:', exc)\n",
    )
    add(
        Entry(
            "memfd_hog",
            _submission(memfd),
            "768 MB held in a memfd",
            min_points=dict(TESTS),
            evidence=("imports os",),
        )
    )
    shm = insert_after(
        honest,
        LAST_TEST,
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print('shmget', libc.shmget(0x5eed, 768 * 2**20, 0o1666), ctypes.get_errno())\n",
    )
    add(
        Entry(
            "shm_hog",
            _submission(shm),
            "768 MB of System V shared memory",
            min_points=dict(TESTS),
            evidence=("imports ctypes",),
        )
    )

    # ------------------------------------------------- 6. notebooks that cost too much
    many_md = copy.deepcopy(honest)
    many_md["cells"] += [
        {"cell_type": "markdown", "metadata": {}, "source": ""} for _ in range(200_000)
    ]
    add(
        Entry(
            "many_markdown",
            _submission(many_md),
            "200,000 empty markdown cells",
            max_points=ZERO,
            status="invalid",
            detail=("over the limit", "cells"),
        )
    )
    many_code = copy.deepcopy(honest)
    many_code["cells"] += [
        {"cell_type": "code", "metadata": {}, "source": "", "outputs": [], "execution_count": None}
        for _ in range(200_000)
    ]
    add(
        Entry(
            "many_code",
            _submission(many_code),
            "200,000 empty code cells",
            max_points=ZERO,
            status="invalid",
            detail=("over the limit", "cells"),
        )
    )
    return entries


__all__ = ["build_integrity", "dumps"]
