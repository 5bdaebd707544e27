"""Helpers for lesson cells that use a student's own answer from earlier in the notebook.

Some demonstration cells (timings, comparisons) run the function a student writes in an exercise.
Before the exercise is done, that function is a stub raising ``NotImplementedError`` or is not
defined at all; the cell should then say what to do first instead of showing a traceback:

    if ready("corr2d", "Exercise 2.2", lambda: corr2d(X, K)):
        ...  # the demonstration

This module holds no answer to any exercise.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ready"]

WRITE_IT = "write it first and run its cell"
_FIX_IT = "fix it (its test cell shows what goes wrong)"


def ready(name: str, where: str, attempt: Callable[[], object], todo: str = WRITE_IT) -> bool:
    """True when the student's ``name`` (asked for in ``where``) works on a tiny example.

    ``attempt`` makes that tiny call, e.g. ``lambda: corr2d(X, K)``.  When it fails, one sentence
    says what to do and the result is False: ``todo`` (by default: write it) when the answer
    still raises ``NotImplementedError`` or its cell has not been run; fix it when it raises
    something else or returns ``None``.
    """
    try:
        result = attempt()
    except NotImplementedError:
        problem = "is not written yet (it raises NotImplementedError)"
    except NameError as exc:
        if getattr(exc, "name", None) == name:
            problem = "is not defined yet"
        else:  # a name missing inside the student's own code
            problem, todo = f"raised NameError: {exc}", _FIX_IT
    except Exception as exc:  # a broken answer: the exercise's test cell explains it
        problem, todo = f"raised {type(exc).__name__}: {exc}", _FIX_IT
    else:
        if result is not None:
            return True
        problem, todo = "returned None (is a `return` missing?)", _FIX_IT
    said = f"This cell uses your {name} from {where}, which {problem}: {todo}"
    print(said + ", then run this cell again.")
    return False
