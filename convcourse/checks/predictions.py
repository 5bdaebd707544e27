"""Predict, then run: short questions a lesson asks before the cell that reveals the answer.

A lesson asks for a prediction in a cell of its own (``prediction = None``, which the student
replaces), then calls ``check_prediction("l01-shifted-peak", prediction)``: it prints whether the
prediction is right, and when it is not, a hint on the reasoning (never the value).  It never
raises and is never graded: a wrong guess is part of learning, and the next cell shows why.

The expected values are computed from the lessons' own numbers here, not typed in; the texts
are in the catalogue (``convcourse.checks.messages``, keys ``prediction.*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from convcourse.checks.messages import t
from convcourse.checks.render import number

__all__ = ["Question", "QUESTIONS", "check_prediction"]


@dataclass(frozen=True)
class Question:
    """One prediction: its lesson, the kind of value asked for ("number" or "position"), how the
    expected value follows from the lesson's numbers, and the relative tolerance of a number."""

    lesson: str
    kind: str
    expected: Callable[[], object]
    rel_tol: float = 0.0


def _invariance_factor() -> float:
    # Lesson 1: 10^12 dense weights; invariance leaves one per offset, (2·1000 − 1)^2 of them.
    n = 1000
    return n**4 / (2 * n - 1) ** 2


def _shifted_peak() -> tuple[int, int]:
    # Lesson 1's figure: the response peaks at (2, 2); the image moves 2 down and 2 right.
    peak, shift = (2, 2), (2, 2)
    return (peak[0] + shift[0], peak[1] + shift[1])


def _nonzeros() -> int:
    # Lesson 2's M: a 3×3 kernel with no zero entry on a 4×4 input; one row per output.
    (n_h, n_w), (k_h, k_w) = (4, 4), (3, 3)
    return (n_h - k_h + 1) * (n_w - k_w + 1) * k_h * k_w


def _impulse() -> int:
    # Lesson 2: K = 1..9 (3×3), a single 1 at (2, 2) of a 5×5 image; Y[0, 0] meets K[2, 2].
    kernel = list(range(1, 10))
    return kernel[2 * 3 + 2]


def _grad_entry() -> float:
    # Lesson 3: dL/dK[0, 0] for L = sum(X ⋆ K) is the sum of the band image over the pixels K[0, 0]
    # meets, columns 0 to 6.
    from convcourse.images import edge_image

    return float(edge_image()[:, :7].sum())


def _transposed_nonzeros() -> int:
    # Lesson 4: the edge kernel [[1, -1]] on the image with a horizontal band.
    import torch

    from convcourse.images import horizontal_edge_image
    from convcourse.oracle import xcorr2d

    K = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    Y = xcorr2d(horizontal_edge_image().double(), K)
    return int((Y != 0).sum())


def _lr_limit() -> float:
    # Lesson 5: 2 / λ_max of H = 2 AᵀA, A the windows of the 1×2 kernel on the band image.
    import torch

    from convcourse.images import edge_image

    A = edge_image().double().unfold(1, 2, 1).reshape(-1, 2)
    return 2 / float(torch.linalg.eigvalsh(2 * A.T @ A).max())


#: The questions of the lessons, by id.
QUESTIONS: MappingProxyType[str, Question] = MappingProxyType(
    {
        "l01-invariance-factor": Question("01", "number", _invariance_factor, rel_tol=0.2),
        "l01-shifted-peak": Question("01", "position", _shifted_peak),
        "l02-nonzeros": Question("02", "number", _nonzeros),
        "l02-impulse": Question("02", "number", _impulse),
        "l03-grad-entry": Question("03", "number", _grad_entry),
        "l04-transposed-nonzeros": Question("04", "number", _transposed_nonzeros),
        "l05-lr-limit": Question("05", "number", _lr_limit, rel_tol=0.02),
    }
)


def _as_number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        try:
            value = value.item()
        except Exception:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _as_position(value) -> tuple[int, int] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        parts = [_as_number(v) for v in value]
        if all(p is not None and float(p).is_integer() for p in parts):
            return (int(parts[0]), int(parts[1]))
    return None


def _shown(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(number(v) for v in value) + ")"
    return number(value)


def check_prediction(question_id: str, prediction) -> None:
    """Say whether ``prediction`` answers the lesson's question ``question_id``; print only.

    ``None`` means "not predicted yet".  Numbers are right within the question's relative
    tolerance (exactly, when it has none); positions are pairs of whole numbers.
    """
    if question_id not in QUESTIONS:
        known = ", ".join(sorted(QUESTIONS))
        raise ValueError(f"no prediction question {question_id!r}; the questions are {known}")
    question = QUESTIONS[question_id]
    asks = t(f"prediction.{question_id}.asks")
    if prediction is None:
        print(t("prediction.missing", asks=asks))
        return None
    reader = _as_position if question.kind == "position" else _as_number
    value = reader(prediction)
    if value is None:
        kind = t(f"prediction.kind.{question.kind}")
        shown = repr(prediction)
        print(t("prediction.unreadable", value=shown[:60], kind=kind, asks=asks))
        return None
    expected = question.expected()
    if question.kind == "position":
        right = value == tuple(expected)
    else:
        right = math.isclose(value, float(expected), rel_tol=question.rel_tol, abs_tol=1e-9)
    if right:
        print(t("prediction.right", value=_shown(value)))
    else:
        hint = t(f"prediction.{question_id}.hint")
        print(t("prediction.wrong", value=_shown(value), hint=hint))
    return None
