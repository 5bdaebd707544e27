"""Where submissions are graded: worker slots on this machine (one sandbox per slot, in its own
thread), or a Dask cluster (one sandbox per worker thread, ``task.run_on_worker``)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from convcourse.instructor.grading.task import grade_submission, grader_failure, run_on_worker
from convcourse.instructor.sandbox import Sandbox

if TYPE_CHECKING:  # only for annotations
    from convcourse.instructor.grading.batch import BatchOptions

__all__ = ["LocalPool", "dask_results"]


class LocalPool:
    """Worker slots on this machine, each a thread with its own sandbox (started at once, so
    they boot while the caller prepares; bwrap's die-with-parent follows the thread that
    started it, so each sandbox lives in its slot's thread)."""

    def __init__(self, options: BatchOptions, preload, prelude, log_dir: Path, slots: int):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.todo: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.threads = [
            threading.Thread(
                target=self._slot,
                args=(
                    Sandbox(
                        sandboxed=options.sandboxed,
                        preload=preload,
                        prelude=prelude,
                        log_path=log_dir / f"slot-{n}.log",
                    ),
                ),
                daemon=True,
            )
            for n in range(max(1, slots))
        ]
        for t in self.threads:
            t.start()

    def _slot(self, sandbox: Sandbox) -> None:
        try:
            try:
                sandbox.start()
            except Exception:  # noqa: BLE001 - grade_submission retries and reports it
                sandbox.close()
            while True:
                item = self.todo.get()
                if item is None:
                    return
                task, notes = item
                try:
                    outcome = grade_submission(task, sandbox)
                except BaseException as exc:  # noqa: BLE001 - reported, the batch goes on
                    outcome = grader_failure(task, exc)
                self.done.put((task, notes, outcome))
        finally:
            sandbox.close()

    def run(self, tasks):
        for item in tasks:
            self.todo.put(item)
        for _ in range(len(tasks)):
            yield self.done.get()

    def close(self) -> None:
        for _ in self.threads:
            self.todo.put(None)
        for t in self.threads:
            t.join(timeout=30)


def dask_results(tasks, options: BatchOptions, preload):
    """Grade on a Dask cluster: the same task function, one sandbox per worker thread."""
    from distributed import Client, as_completed

    scheduler = options.scheduler
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    if not isinstance(client, Client):
        client = Client(client)  # a cluster object
        own = True
    try:
        by_key = {}
        futures = []
        for task, notes in tasks:
            future = client.submit(run_on_worker, task, preload, pure=False)
            by_key[future.key] = (task, notes)
            futures.append(future)
        for future in as_completed(futures):
            task, notes = by_key[future.key]
            try:
                outcome = future.result()
            except BaseException as exc:  # noqa: BLE001
                outcome = grader_failure(task, exc)
            yield task, notes, outcome
    finally:
        if own:
            client.close()
