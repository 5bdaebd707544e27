"""Lesson 03, the convolutional layer: the ``Conv2D`` module and the kernel's gradient by hand."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.correlation import judge_correlation, probe_correlation
from convcourse.checks.inputs import (
    by_size,
    decimals,
    example_k,
    example_x,
    lesson_edge,
    shape_tags,
    small_ints,
)
from convcourse.checks.messages import t
from convcourse.checks.recorder import describe_class
from convcourse.checks.render import shape_text
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.oracle import xcorr2d

__all__ = ["CONV2D_LAYER", "KERNEL_GRAD", "check_conv2d_layer", "check_kernel_grad"]

SECTION = "layer"

# ---------------------------------------------------------------------------------------------
# class Conv2D(nn.Module)


def _layer_cases(seed, hidden):
    gen, rnd = case_random(seed, "conv2d-layer")
    X_edge, K_edge = lesson_edge()
    raw = [
        ("lesson_edge", X_edge, K_edge, 0.5, ("lesson", "non-square")),
        ("lesson_example", example_x(), example_k(), 1.0, ("lesson", "square")),
    ]
    if hidden:
        geometry = [
            ("one_by_one", (rnd.randint(2, 4), rnd.randint(2, 5)), (1, 1)),
            ("non_square_kernel", (rnd.randint(4, 6), rnd.randint(5, 7)), (2, 3)),
            ("tall_input", (rnd.randint(6, 8), rnd.randint(3, 5)), (3, 2)),
            ("square", (5, 5), (3, 3)),
        ]
    else:
        geometry = [
            ("one_by_one", (2, 3), (1, 1)),
            ("non_square_kernel", (4, 5), (2, 3)),
            ("tall_input", (6, 4), (3, 2)),
            ("square", (5, 5), (3, 3)),
        ]
    for kind, X_shape, K_shape in geometry:
        make = (lambda s: decimals(gen, s)) if hidden else (lambda s: small_ints(gen, s))
        bias = round(rnd.uniform(-2, 2), 2) if hidden else 1.5
        raw.append((kind, make(X_shape), make(K_shape), bias or 0.75, shape_tags(X_shape, K_shape)))
    cases = []
    for kind, X, K, bias, tags in raw:
        o = (X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1)
        dY = small_ints(gen, o, -2, 3)
        data = {"kernel_size": tuple(K.shape), "X": X, "weight": K, "bias": float(bias), "dY": dY}
        cases.append(Case(kind, data, tags))
    return by_size(cases)


def _tensor_attribute(module, name):
    try:
        value = getattr(module, name, None)
    except Exception:
        return None
    return value if isinstance(value, torch.Tensor) else None


def _probe_layer(objs, case, limit):
    cls = objs["Conv2D"]
    if not callable(cls):
        return {"not_callable": describe(cls)}
    made = call_student(cls, tuple(case.data["kernel_size"]), limit=limit)
    # What the class is built on (and the layer holds), for the rules: conv modules, d2l.
    obs: dict = {"init": made.facts(), "structure": describe_class(cls)}
    layer = made.value
    if not made.ok:
        return obs
    obs["is_module"] = isinstance(layer, nn.Module)
    obs["structure"] = describe_class(cls, layer)
    if not obs["is_module"]:
        obs["made"] = describe(layer)
        return obs
    registered = list(layer.named_parameters())
    obs["parameters"] = [[n, [int(s) for s in p.shape]] for n, p in registered]
    obs["children"] = sorted({type(m).__name__ for m in layer.modules() if m is not layer})
    attributes = {}
    for name in ("weight", "bias"):
        value = _tensor_attribute(layer, name)
        attributes[name] = (
            None
            if value is None
            else {
                "shape": [int(s) for s in value.shape],
                "is_parameter": isinstance(value, nn.Parameter),
                "registered": any(p is value for _, p in registered),
                "requires_grad": bool(value.requires_grad),
            }
        )
    obs["attributes"] = attributes
    # Give the layer known weights so that its output can be compared with the reference.
    W, b = _tensor_attribute(layer, "weight"), _tensor_attribute(layer, "bias")
    obs["values_set"] = {"weight": False, "bias": False}
    with torch.no_grad():
        try:
            if W is not None and tuple(W.shape) == tuple(case.data["kernel_size"]):
                W.copy_(case.data["weight"])
                obs["values_set"]["weight"] = True
            if b is not None and b.numel() >= 1:
                b.fill_(case.data["bias"])
                obs["values_set"]["bias"] = True
        except Exception as exc:  # an exotic parameter (wrong device, integer, ...)
            obs["set_error"] = f"{type(exc).__name__}: {exc}"[:300]
    X = case.data["X"].clone()
    forward = call_student(layer, X, limit=limit)
    obs["forward"] = forward.facts()
    obs["output"] = describe(forward.value)
    obs["modified"] = inputs_modified({"X": case.data["X"]}, {"X": X})
    obs["grads"] = {"weight": None, "bias": None}
    Y, dY = forward.value, case.data["dY"]
    if forward.ok and isinstance(Y, torch.Tensor) and Y.grad_fn is not None and Y.shape == dY.shape:

        def backward():
            (Y * dY.to(Y.dtype)).sum().backward()

        obs["backward"] = call_student(backward, limit=limit, trace=False).facts()
        for name, value in (("weight", W), ("bias", b)):
            if value is not None and value.grad is not None:
                obs["grads"][name] = value.grad.detach().to("cpu").clone()
    return obs


def _judge_layer_parts(case, obs, context):
    """Problems of the layer's construction and parameters (before any output is compared)."""
    k = tuple(case.data["kernel_size"])
    params = ", ".join(f"{n} {shape_text(s)}" for n, s in obs["parameters"]) or t("word.none")
    attrs = obs["attributes"]
    weight, bias = attrs["weight"], attrs["bias"]
    if weight is None:
        return Verdict.failure(
            "parameter_name",
            context + "\n" + t("detail.no_weight", parameters=params),
            section=SECTION,
        )
    if bias is None:
        return Verdict.failure(
            "missing_bias",
            context + "\n" + t("detail.no_bias_attribute", parameters=params),
            section=SECTION,
        )
    for name, facts in (("weight", weight), ("bias", bias)):
        if not facts["registered"]:
            return Verdict.failure(
                "not_parameter",
                context + "\n" + t("detail.not_registered", name=name, parameters=params),
                section=SECTION,
            )
    w = tuple(weight["shape"])
    if w != k:
        shapes = t("detail.param_shape", name="weight", got=w, want=k)
        if w == k[::-1]:
            key = "swapped_hw"
        elif len(w) == 2 and w in {(k[0], k[0]), (k[1], k[1])}:
            key = "square_only"
        else:
            key = "wrong_shape"
        return Verdict.failure(key, context + "\n" + shapes, section=SECTION)
    if tuple(bias["shape"]) != (1,):
        return Verdict.failure(
            "bias_shape",
            context
            + "\n"
            + t("detail.param_shape", name="bias", got=tuple(bias["shape"]), want="(1,)"),
            section=SECTION,
        )
    return None


def _judge_layer(case, obs):
    symbol = "Conv2D"
    problem = dg.callable_problem(obs, symbol, section=SECTION, want="class")
    if problem:
        return problem
    k = tuple(case.data["kernel_size"])
    init_text = t("detail.layer_init", kernel_size=k)
    problem = dg.call_problem(obs["init"], symbol, context=init_text, section=SECTION)
    if problem:
        return problem
    if not obs["is_module"]:
        made = obs["made"]
        return Verdict.failure(
            "wrong_type",
            init_text + "\n" + t("detail.not_module", type=made["type"]),
            section=SECTION,
        )
    context = init_text + "\n" + dg.case_text(case, ["X", "weight", "bias"])
    problem = _judge_layer_parts(case, obs, context)
    if problem:
        return problem
    forward = obs["forward"]
    problem = dg.call_problem(
        forward, "forward", context=context, section=SECTION, window_errors=True
    )
    if problem:
        return problem
    X, W, b = dg.as_float(case.data["X"]), dg.as_float(case.data["weight"]), case.data["bias"]
    expected = xcorr2d(X, W) + b
    out = obs["output"]
    problem = dg.output_problem(out, "forward", context=context, section=SECTION, expected=expected)
    problem = problem or dg.modified_problem(
        obs["modified"], "forward", context=context, section=SECTION
    )
    if problem:
        return problem
    got = out["tensor"]
    shown = context + "\n" + dg.expected_got(expected, got)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", shown, section=SECTION)
    if tuple(got.shape) != tuple(expected.shape):
        key, detail, unsure = dg.shape_mistake(got.shape, X.shape, W.shape)
        return Verdict.failure(key, shown + "\n" + detail, section=SECTION, tentative=unsure)
    if not dg.same(got, expected):
        if dg.same(got, expected - b):
            return Verdict.failure(
                "missing_bias", shown + "\n" + t("detail.forward_no_bias"), section=SECTION
            )
        named = dg.correlation_mistake(X, W, dg.as_float(got) - b, expected - b)
        key, detail, unsure = named if named else ("wrong_values", t("detail.wrong_values"), False)
        return Verdict.failure(
            key,
            shown + "\n" + detail,
            section=SECTION,
            tentative=unsure,
            expected=expected,
            got=got,
        )
    causes = dg.autograd_causes(forward["calls"])
    back = obs.get("backward")
    grads = obs["grads"]
    if back is not None and back["error"] is not None:
        detail = t(
            "detail.backward_error", type=back["error"]["type"], message=back["error"]["message"]
        )
        return Verdict.failure("breaks_autograd", context + "\n" + detail + causes, section=SECTION)
    for name in ("weight", "bias"):
        if grads[name] is None:
            if not obs["attributes"][name]["requires_grad"]:
                detail = t("detail.no_requires_grad", name=name)
            else:
                detail = t("detail.no_param_grad", name=name)
            return Verdict.failure(
                "breaks_autograd", context + "\n" + detail + causes, section=SECTION
            )
    dY = dg.as_float(case.data["dY"])
    for name, want in (("weight", xcorr2d(X, dY)), ("bias", dY.sum().reshape(1))):
        if not dg.same(grads[name], want):
            detail = (
                t("detail.wrong_param_grad", name=name) + "\n" + dg.expected_got(want, grads[name])
            )
            return Verdict.failure(
                "breaks_autograd", context + "\n" + detail + causes, section=SECTION
            )
    return Verdict.ok()


# ---------------------------------------------------------------------------------------------
# kernel_grad(X, dY)


def _grad_cases(seed, hidden):
    gen, rnd = case_random(seed, "kernel-grad")
    if hidden:
        geometry = [
            ("grad_small", (rnd.randint(3, 4), rnd.randint(3, 5)), (2, 2)),
            ("grad_wide", (rnd.randint(3, 5), rnd.randint(6, 8)), (1, 3)),
            ("grad_tall", (rnd.randint(5, 7), rnd.randint(3, 4)), (3, 2)),
            ("grad_square", (5, 5), (3, 3)),
        ]
    else:
        geometry = [
            ("lesson_example", (3, 3), (2, 2)),
            ("grad_wide", (4, 6), (1, 3)),
            ("grad_tall", (6, 4), (3, 2)),
            ("grad_square", (5, 5), (3, 3)),
        ]
    cases = []
    for kind, X_shape, K_shape in geometry:
        o = (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)
        if kind == "lesson_example":
            X = example_x()
        else:
            X = decimals(gen, X_shape) if hidden else small_ints(gen, X_shape)
        dY = decimals(gen, o) if hidden else small_ints(gen, o, -2, 3)
        cases.append(Case(kind, {"X": X, "dY": dY}, shape_tags(X_shape, o)))
    return by_size(cases)


def _judge_grad(case, obs):
    # Autograd is this exercise's rule "autograd", applied by Exercise.judge.
    return judge_correlation(case, obs, symbol="kernel_grad", names=("X", "dY"), section="grad")


# ---------------------------------------------------------------------------------------------

CONV2D_LAYER = Exercise(
    id="conv2d-layer",
    lesson=SECTION,
    symbols=("Conv2D",),
    make_cases=_layer_cases,
    probe_case=_probe_layer,
    judge_case=_judge_layer,
    time_limit=10.0,
    check_name="check_conv2d_layer",
    forbids=EXERCISE_RULES["conv2d-layer"],
)

KERNEL_GRAD = Exercise(
    id="kernel-grad",
    lesson="grad",
    symbols=("kernel_grad",),
    make_cases=_grad_cases,
    probe_case=partial(probe_correlation, symbol="kernel_grad", names=("X", "dY")),
    judge_case=_judge_grad,
    time_limit=10.0,
    check_name="check_kernel_grad",
    forbids=EXERCISE_RULES["kernel-grad"],
)


def check_conv2d_layer(Conv2D, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check the ``Conv2D`` layer: parameters ``weight`` and ``bias`` (1,), forward = corr2d + bias,
    and gradients that reach both."""
    check(CONV2D_LAYER, {"Conv2D": Conv2D}, seed=seed, hidden=hidden)


def check_kernel_grad(kernel_grad, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``kernel_grad(X, dY)``: dL/dK for L = sum(dY * corr2d(X, K)), computed by hand."""
    check(KERNEL_GRAD, {"kernel_grad": kernel_grad}, seed=seed, hidden=hidden)
