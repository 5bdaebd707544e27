"""The yardsticks of the speed exercises, timed in the zygote, in which no student code ran.

The grader asks between a probe's timing rounds (``protocol.YARDSTICK``); inputs are made from
the grader's seed exactly as a probe makes them, and only the yardstick itself is timed, on
this thread's CPU clock.
"""

from __future__ import annotations

import time

try:  # inside the sandbox these modules are mounted side by side, alone
    from convcourse.instructor.sandbox.inside import protocol
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import protocol  # type: ignore[no-redef]

__all__ = ["between_runs", "time_yardstick"]


def between_runs(msg: dict) -> dict:
    if msg.get("op") == protocol.PROBE_CPU:
        return {"op": protocol.PROBE_CPU_REPLY, "cpu_s": None}
    try:
        return time_yardstick(msg)
    except Exception as exc:  # noqa: BLE001 - a bad request: say so
        return {"op": protocol.YARDSTICK_DONE, "error": str(exc)[:300]}


def time_yardstick(request: dict) -> dict:
    """One yardstick round on inputs made as a probe makes them: ``conv`` (F.conv2d), ``loop``
    (the checks' loop yardstick) or ``null`` (a crop: nothing); this thread's CPU seconds in
    the function alone."""
    import torch
    import torch.nn.functional as F

    kind, n, count = request["kind"], int(request["n"]), int(request["count"])
    K = torch.tensor(request["K"], dtype=torch.float32)
    if kind == "conv":
        K4 = K.reshape(1, 1, *K.shape)

        def fn(X):
            return F.conv2d(X.reshape(1, 1, n, n), K4)[0, 0]

    elif kind == "loop":
        from convcourse.checks.speed import loop_yardstick

        rows = int(request.get("rows") or n)

        def fn(X):
            return loop_yardstick(X, K, rows=rows)

    else:
        o_h, o_w = n - K.shape[0] + 1, n - K.shape[1] + 1

        def fn(X):
            return X[:o_h, :o_w]

    gen = torch.Generator().manual_seed(int(request["seed"]))
    o = (n - K.shape[0] + 1, n - K.shape[1] + 1)
    W = torch.rand(o, generator=gen, dtype=torch.float64) - 0.5
    sums = []
    cpu = wall = 0.0
    for _ in range(count):
        X = torch.rand((n, n), generator=gen)
        # Only the function is timed: this process is trusted with its own clock.
        w0, c0 = time.perf_counter(), time.thread_time()
        Y = fn(X)
        cpu += time.thread_time() - c0
        wall += time.perf_counter() - w0
        sums.append(float((Y.to(torch.float64) * W[: Y.shape[0], : Y.shape[1]]).sum()))
    return {"op": protocol.YARDSTICK_DONE, "cpu_s": cpu, "wall_s": wall}
