"""Lesson 05, learning a kernel: the training loop, and recovering a hidden kernel from data."""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.inputs import EDGE_K, decimals, small_ints
from convcourse.checks.messages import t
from convcourse.checks.render import named_block, number, shape_text, side_by_side, text_width
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.images import edge_image
from convcourse.oracle import xcorr2d

__all__ = [
    "TRAIN_KERNEL",
    "RECOVER_KERNEL",
    "check_train_kernel",
    "check_recover_kernel",
    "TRAINING_MODES",
]

SECTION = "training"
#: d2l's learning rate in its kernel-learning example; a loop that ignores ``lr`` often uses it.
D2L_LR = 3e-2
#: Seconds allowed for one call of ``recover_kernel`` (it trains a kernel: be generous).
RECOVER_TIME_LIMIT = 20.0
#: A recovered kernel is accepted within this fraction of max(1, its largest entry).
RECOVER_TOLERANCE = 0.05

# ---------------------------------------------------------------------------------------------
# train_kernel(X, Y, K_init, lr, num_epochs) -> (K, losses)

#: Ways of training the reference follows: the right one and the usual mistakes.
TRAINING_MODES = ("correct", "no_zero_grad", "uphill", "mean")


def _expected_training(X, Y, K_init, lr: float, num_epochs: int, mode: str = "correct"):
    """Gradient descent on sum((corr2d(X, K) - Y)**2) in float64, in closed form: the loss's
    gradient with respect to K is 2 · corr2d(X, corr2d(X, K) - Y).

    ``mode``: ``correct``; ``no_zero_grad`` (gradients accumulate: every step uses the sum of
    all gradients so far); ``uphill`` (K += lr * grad); ``mean`` (the mean instead of the sum of
    the squared errors).  Returns (K, losses before each step).
    """
    if mode not in TRAINING_MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {TRAINING_MODES}")
    X, Y, K = dg.as_float(X), dg.as_float(Y), dg.as_float(K_init).clone()
    total = torch.zeros_like(K)
    losses = []
    for _ in range(num_epochs):
        R = xcorr2d(X, K) - Y
        loss, grad = (R**2).sum(), 2 * xcorr2d(X, R)
        if mode == "mean":
            loss, grad = loss / Y.numel(), grad / Y.numel()
        losses.append(float(loss))
        if mode == "no_zero_grad":
            total = total + grad
            grad = total
        K = K + lr * grad if mode == "uphill" else K - lr * grad
    return K, losses


def _target(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """The training target corr2d(X, K), in the inputs' dtype (float32 for the cases)."""
    return xcorr2d(X, K).to(torch.promote_types(X.dtype, K.dtype))


def _stable_lr(X: torch.Tensor, k_shape, fraction: float) -> float:
    """``fraction`` / (largest curvature of the loss): gradient descent converges for < 1."""
    A = X.to(torch.float64).unfold(0, k_shape[0], 1).unfold(1, k_shape[1], 1)
    A = A.reshape(-1, k_shape[0] * k_shape[1])
    top = float(torch.linalg.eigvalsh(2 * A.T @ A).max())
    return float(f"{fraction / top:.3g}")


def _train_cases(seed, hidden):
    gen, rnd = case_random(seed, "train-loop")
    cases = []
    if not hidden:
        X = edge_image()
        K_true = torch.tensor(EDGE_K)
        cases.append(
            Case(
                "lesson_training",
                {
                    "X": X,
                    "Y": _target(X, K_true),
                    "K_init": torch.tensor([[0.2, 0.7]]),
                    "lr": D2L_LR,
                    "num_epochs": 10,
                },
                ("lesson",),
            )
        )
        X = decimals(gen, (5, 7), scale=1.0)
        K_true = small_ints(gen, (2, 2), -2, 3)
        K_init = decimals(gen, (2, 2), scale=1.0)
        cases.append(
            Case(
                "random_training",
                {
                    "X": X,
                    "Y": _target(X, K_true),
                    "K_init": K_init,
                    "lr": _stable_lr(X, (2, 2), 0.5),
                    "num_epochs": 12,
                },
            )
        )
        return cases
    for _ in range(2):
        X = decimals(gen, (rnd.randint(5, 8), rnd.randint(6, 9)), scale=1.0)
        k = (rnd.randint(1, 3), rnd.randint(2, 3))
        K_true, K_init = decimals(gen, k, scale=1.5), decimals(gen, k, scale=0.5)
        cases.append(
            Case(
                "random_training",
                {
                    "X": X,
                    "Y": _target(X, K_true),
                    "K_init": K_init,
                    "lr": _stable_lr(X, k, rnd.uniform(0.3, 0.8)),
                    "num_epochs": rnd.randint(8, 15),
                },
            )
        )
    return cases


def _warm_up() -> None:
    """Import torch._dynamo before the student's code runs: torch.optim imports it at its first
    step, an import of seconds that the recorder's profile function would make about three
    times slower, inside the student's time limit."""
    import torch._dynamo  # noqa: F401


def _as_losses(value):
    """Losses as a list of floats, or None when they are not a sequence of numbers."""
    if isinstance(value, torch.Tensor):
        value = value.detach().reshape(-1).tolist() if value.dim() <= 1 else None
    if not isinstance(value, list | tuple):
        return None
    out = []
    for v in value:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, int | float):
            try:
                v = float(v)  # numpy scalars
            except (TypeError, ValueError):
                return None
        out.append(float(v))
    return out


def _probe_train(objs, case, limit):
    fn = objs["train_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    names = ("X", "Y", "K_init")
    given = {n: case.data[n].clone() for n in names}
    _warm_up()
    call = call_student(
        fn,
        given["X"],
        given["Y"],
        given["K_init"],
        case.data["lr"],
        case.data["num_epochs"],
        limit=limit,
    )
    obs = {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": inputs_modified(
            {n: case.data[n] for n in names}, {n: T.detach() for n, T in given.items()}
        ),
        "K": None,
        "losses": None,
        "losses_type": None,
    }
    value = call.value
    if isinstance(value, tuple | list) and len(value) == 2:
        obs["K"] = describe(value[0])
        obs["losses_type"] = type(value[1]).__name__
        obs["losses"] = _as_losses(value[1])
    return obs


def _close(a: list[float], b: list[float], scale: float) -> bool:
    return len(a) == len(b) and all(
        abs(x - y) <= 1e-3 * abs(y) + 1e-6 * scale for x, y in zip(a, b, strict=True)
    )


def _loss_lines(expected: list[float], got: list[float]) -> str:
    rows = [[t("word.epoch"), t("word.expected"), t("word.got")]]
    for i in range(max(len(expected), len(got))):
        e = number(expected[i]) if i < len(expected) else ""
        g = number(got[i]) if i < len(got) else ""
        rows.append([str(i), e, g])
    widths = [max(text_width(r[c]) for r in rows) for c in range(3)]
    return "\n".join(
        "  ".join(" " * (widths[c] - text_width(r[c])) + r[c] for c in range(3)) for r in rows
    )


def _judge_train(case, obs):
    symbol, section = "train_kernel", SECTION
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    d = case.data
    context = dg.case_text(case, ["X", "Y", "K_init", "lr", "num_epochs"])
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    if problem:
        return problem
    out = obs["output"]
    if out["kind"] == "none":
        return dg.returned_none(symbol, context, section=section)
    if obs["K"] is None:
        shown = out.get("repr", out["type"])
        return dg.wrong_type(
            symbol, out["type"], shown, t("want.k_losses"), context, section=section
        )
    problem = dg.output_problem(obs["K"], "K", context=context, section=section)
    problem = problem or dg.modified_problem(
        obs["modified"], symbol, context=context, section=section
    )
    if problem:
        return problem
    K_got = obs["K"]["tensor"]
    losses = obs["losses"]
    if losses is None:
        return Verdict.failure(
            "wrong_type",
            context + "\n" + t("detail.losses_type", type=obs["losses_type"]),
            section=section,
        )
    n = d["num_epochs"]
    if len(losses) != n:
        return Verdict.failure(
            "wrong_epoch_count",
            context + "\n" + t("detail.epoch_count", got=len(losses), want=n),
            section=section,
        )
    if tuple(K_got.shape) != tuple(d["K_init"].shape):
        return Verdict.failure(
            "wrong_shape",
            context
            + "\n"
            + t(
                "detail.shape_other",
                got=shape_text(K_got.shape),
                want=shape_text(d["K_init"].shape),
            ),
            section=section,
        )
    K_ref, ref = _expected_training(d["X"], d["Y"], d["K_init"], d["lr"], n)
    scale = max(1.0, abs(ref[0]))
    k_ok = dg.same(K_got, K_ref, rtol=1e-3, atol=1e-4)
    if _close(losses, ref, scale) and k_ok:
        return Verdict.ok()
    # Which loop produced these numbers?
    variants = [
        (mode, _expected_training(d["X"], d["Y"], d["K_init"], d["lr"], n, mode))
        for mode in TRAINING_MODES[1:]
    ]
    if abs(d["lr"] - D2L_LR) > 1e-12:
        variants.append(("ignores_lr", _expected_training(d["X"], d["Y"], d["K_init"], D2L_LR, n)))
    _, longer = _expected_training(d["X"], d["Y"], d["K_init"], d["lr"], n + 1)
    keys = {
        "no_zero_grad": "no_zero_grad",
        "uphill": "wrong_direction",
        "mean": "mean_instead_of_sum",
        "ignores_lr": "ignores_lr",
    }
    table = _loss_lines(ref, losses)
    for mode, (_, variant_losses) in variants:
        if _close(losses, variant_losses, scale):
            return Verdict.failure(keys[mode], context + "\n" + table, section=section)
    if _close(losses, longer[1:], scale):
        return Verdict.failure(
            "wrong_values",
            context + "\n" + table + "\n" + t("detail.loss_after_step"),
            section=section,
        )
    finite = all(v == v and abs(v) != float("inf") for v in losses)
    if not finite or losses[-1] > losses[0] * 1.5 or not bool(torch.isfinite(K_got).all()):
        return Verdict.failure("diverges", context + "\n" + table, section=section)
    if abs(losses[0] - ref[0]) > 1e-3 * abs(ref[0]) + 1e-6 * scale:
        return Verdict.failure("ignores_init", context + "\n" + table, section=section)
    if _close(losses, ref, scale):  # losses right, K not: the returned K is not the trained one
        shown = context + "\n" + dg.expected_got(K_ref, K_got)
        return Verdict.failure(
            "wrong_values", shown + "\n" + t("detail.final_kernel"), section=section
        )
    return Verdict.failure("wrong_values", context + "\n" + table, section=section)


# ---------------------------------------------------------------------------------------------
# recover_kernel(X, Y, kernel_shape)

_KERNEL_SHAPES = ((1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (2, 3), (3, 3))


def _recover_cases(seed, hidden):
    # The visible cases are made like the hidden ones (random kernels, torch.rand images), from
    # a stream of their own, so that they differ from the hidden cases of any seed.
    gen, rnd = case_random(seed, "recover-kernel" if hidden else "recover-kernel:visible")
    cases = []
    for stacked in (False, True):
        k = rnd.choice(_KERNEL_SHAPES) if hidden else ((2, 3), (3, 3))[stacked]
        K = decimals(gen, k, scale=1.5)
        while K.numel() > 1 and torch.equal(K, torch.flip(K, (0, 1))):
            K = decimals(gen, k, scale=1.5)
        shape = (rnd.randint(8, 12), rnd.randint(8, 12))
        X = [torch.rand(shape, generator=gen) for _ in range(3)]
        Y = [_target(x, K) for x in X]
        if stacked:
            X, Y = torch.stack(X), torch.stack(Y)
        kind = "recover_stack" if stacked else "recover_list"
        cases.append(Case(kind, {"X": X, "Y": Y, "kernel_shape": k}))
    return cases


def _copy(v):
    return [x.clone() for x in v] if isinstance(v, list) else v.clone()


def _probe_recover(objs, case, limit):
    fn = objs["recover_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    X, Y = _copy(case.data["X"]), _copy(case.data["Y"])
    _warm_up()
    call = call_student(fn, X, Y, tuple(case.data["kernel_shape"]), limit=limit)

    def flat(v, name):
        return {f"{name}{i}": x for i, x in enumerate(v)} if isinstance(v, list) else {name: v}

    before = {**flat(case.data["X"], "X"), **flat(case.data["Y"], "Y")}
    after = {**flat(X, "X"), **flat(Y, "Y")}
    return {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": sorted({n.rstrip("0123456789") for n in inputs_modified(before, after)}),
    }


def _expected_kernel(X, Y, kernel_shape) -> torch.Tensor:
    """The kernel that produced Y = corr2d(X, K), by least squares on the windows of X.

    The case holds only inputs; the judge recovers the expected kernel from them exactly.
    """
    k_h, k_w = kernel_shape
    rows, targets = [], []
    for x, y in zip(X, Y, strict=True):
        x = x.to(torch.float64)
        rows.append(x.unfold(0, k_h, 1).unfold(1, k_w, 1).reshape(-1, k_h * k_w))
        targets.append(y.to(torch.float64).reshape(-1, 1))
    A, b = torch.cat(rows), torch.cat(targets)
    return torch.linalg.lstsq(A, b).solution.reshape(k_h, k_w)


def _loss(X, Y, K: torch.Tensor) -> float:
    """Sum of squared errors of kernel K over all the pairs (X, Y)."""
    K = dg.as_float(K)
    return sum(
        float(((xcorr2d(x, K) - dg.as_float(y)) ** 2).sum()) for x, y in zip(X, Y, strict=True)
    )


def _judge_recover(case, obs):
    symbol, section = "recover_kernel", SECTION
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    d = case.data
    context = dg.case_text(case, ["X", "Y", "kernel_shape"])
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    problem = problem or dg.output_problem(obs["output"], symbol, context=context, section=section)
    problem = problem or dg.modified_problem(
        obs["modified"], symbol, context=context, section=section
    )
    if problem:
        return problem
    K_true = _expected_kernel(d["X"], d["Y"], d["kernel_shape"])
    got = dg.as_float(obs["output"]["tensor"])
    shown = (
        context
        + "\n"
        + side_by_side([named_block(t("word.expected"), K_true), named_block(t("word.got"), got)])
    )
    k = tuple(d["kernel_shape"])
    lesson = torch.tensor(EDGE_K, dtype=torch.float64)
    if (
        got.shape == lesson.shape
        and torch.allclose(got, lesson)
        and not (K_true.shape == lesson.shape and torch.allclose(K_true, lesson))
    ):
        return Verdict.failure("hardcoded_example", shown, section=section)
    if tuple(got.shape) != k:
        if tuple(got.shape) == k[::-1]:
            key, detail = "swapped_hw", ""
        elif got.dim() != 2 and got.squeeze().shape == K_true.squeeze().shape:
            key, detail = (
                "wrong_shape",
                t("detail.extra_dims", got=shape_text(got.shape), want=shape_text(k)),
            )
        else:
            key, detail = "wrong_shape", ""
        shapes = t("detail.shape_other", got=shape_text(got.shape), want=shape_text(k))
        return Verdict.failure(key, shown + "\n" + (detail or shapes), section=section)
    scale = max(1.0, float(K_true.abs().max()))
    tol = RECOVER_TOLERANCE * scale
    error = float((got - K_true).abs().max()) if bool(torch.isfinite(got).all()) else float("inf")
    if error <= tol:
        return Verdict.ok()
    detail = t("detail.recover_error", error=number(error), tol=number(tol))
    if error == float("inf") or float(got.abs().max()) > 10 * scale + 10:
        return Verdict.failure("diverges", shown + "\n" + detail, section=section)
    flipped = torch.flip(K_true, (0, 1))
    if not torch.allclose(flipped, K_true) and float((got - flipped).abs().max()) <= tol:
        return Verdict.failure("flipped_kernel", shown + "\n" + detail, section=section)
    if (
        k[0] == k[1]
        and not torch.allclose(K_true.T, K_true)
        and float((got - K_true.T).abs().max()) <= tol
    ):
        return Verdict.failure(
            "swapped_hw", shown + "\n" + t("detail.values_transposed"), section=section
        )
    # Progress: the learned kernel explains much of Y (compared with the zero kernel).
    residual = _loss(d["X"], d["Y"], got) / max(_loss(d["X"], d["Y"], torch.zeros_like(got)), 1e-12)
    cosine = float((got * K_true).sum() / (got.norm() * K_true.norm() + 1e-12))
    if error <= 10 * tol or cosine > 0.95 or residual < 0.25:
        return Verdict.failure("not_converged", shown + "\n" + detail, section=section)
    return Verdict.failure("wrong_values", shown + "\n" + detail, section=section)


# ---------------------------------------------------------------------------------------------

TRAIN_KERNEL = Exercise(
    id="train-loop",
    lesson=SECTION,
    symbols=("train_kernel",),
    make_cases=_train_cases,
    probe_case=_probe_train,
    judge_case=_judge_train,
    time_limit=20.0,
    check_name="check_train_kernel",
    forbids=EXERCISE_RULES["train-loop"],
)

RECOVER_KERNEL = Exercise(
    id="recover-kernel",
    lesson=SECTION,
    symbols=("recover_kernel",),
    make_cases=_recover_cases,
    probe_case=_probe_recover,
    judge_case=_judge_recover,
    time_limit=RECOVER_TIME_LIMIT,
    check_name="check_recover_kernel",
    forbids=EXERCISE_RULES["recover-kernel"],
)


def check_train_kernel(train_kernel, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``train_kernel(X, Y, K_init, lr, num_epochs)``: its losses and final kernel follow
    gradient descent on the sum of squared errors exactly."""
    check(TRAIN_KERNEL, {"train_kernel": train_kernel}, seed=seed, hidden=hidden)


def check_recover_kernel(recover_kernel, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``recover_kernel(X, Y, kernel_shape)``: the learned kernel is within 5% of the one
    that produced Y (each call may take up to 20 s)."""
    check(RECOVER_KERNEL, {"recover_kernel": recover_kernel}, seed=seed, hidden=hidden)
