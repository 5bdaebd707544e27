"""Naming mistakes: problems of a call, of a returned object, and of wrong outputs.

Wrong outputs are diagnosed by comparison: the judge computes what each known mistake would have
produced on the same case (flipped kernel, one row too few, integers, ...) and names the one the
student's output matches.
"""

from __future__ import annotations

import re

import torch

from convcourse.checks.core import Case, Verdict
from convcourse.checks.messages import TEXT_EN, t
from convcourse.checks.render import (
    PICTURE_MIN_CELLS,
    difference_lines,
    matrix_lines,
    named_block,
    number,
    shape_text,
    side_by_side,
)
from convcourse.checks.rules import AUTOGRAD, CONV_MODULE, LIBRARY_CONV, SHIPPED
from convcourse.oracle import xcorr2d

__all__ = [
    "case_text",
    "expected_got",
    "same",
    "nonfinite",
    "call_problem",
    "output_problem",
    "callable_problem",
    "rule_problem",
    "modified_problem",
    "autograd_causes",
    "shape_mistake",
    "correlation_mistake",
    "as_float",
]

# Error messages that mean "a slice at the border was cut short" or "an index ran past the end".
_WINDOW_ERRORS = re.compile(
    r"must match the size|out of bounds|shape mismatch|size mismatch|expanded size|"
    r"cannot be broadcast|could not broadcast|setting an array element|broadcast",
    re.IGNORECASE,
)


def as_float(T: torch.Tensor) -> torch.Tensor:
    return T.detach().to("cpu", torch.float64)


def same(got, expected, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Same shape and values within tolerance (relative to the size of the values)."""
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor):
        return False
    if tuple(got.shape) != tuple(expected.shape):
        return False
    if got.dtype == torch.bool or expected.dtype == torch.bool:
        got, expected = got.to(torch.int64), expected.to(torch.int64)
    if got.is_complex() or expected.is_complex():
        return False
    G, E = as_float(got), as_float(expected)
    if E.numel() == 0:
        return True
    scale = max(1.0, float(E.abs().max()))
    return bool(((G - E).abs() <= atol * scale + rtol * E.abs()).all())


def nonfinite(T) -> bool:
    if not isinstance(T, torch.Tensor) or not (T.is_floating_point() or T.is_complex()):
        return False
    return not bool(torch.isfinite(T).all())


def case_text(case: Case, names: list[str] | None = None, values: dict | None = None) -> str:
    """``On the case “…”:`` and the inputs shown side by side."""
    data = values if values is not None else case.data
    names = names if names is not None else list(data)
    blocks = [named_block(n, data[n]) for n in names if n in data]
    return t("detail.case", label=case.label) + "\n" + side_by_side(blocks)


def expected_got(expected, got, expected_name: str | None = None) -> str:
    """Expected and got side by side; large same-shape outputs as a difference summary."""
    e_name = expected_name or t("word.expected")
    g_name = t("word.got")
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor):
        return side_by_side([[e_name] + matrix_lines(expected), [g_name, repr(got)]])
    big = max(expected.numel(), got.numel()) > PICTURE_MIN_CELLS
    if not big:
        return side_by_side(
            [
                [f"{e_name} ({shape_text(expected.shape)})"] + matrix_lines(expected),
                [f"{g_name} ({shape_text(got.shape)})"] + matrix_lines(got),
            ]
        )
    if tuple(expected.shape) == tuple(got.shape) and expected.dim() == 2:
        return "\n".join(difference_lines(expected, got))
    return t("detail.shapes", expected=shape_text(expected.shape), got=shape_text(got.shape))


def _where(err: dict) -> str:
    if err.get("line") is None:
        return ""
    code = err.get("code") or ""
    return "\n" + t("detail.where", line=err["line"], code=code)


def call_problem(
    call: dict,
    symbol: str,
    *,
    context: str,
    section: str,
    window_errors: bool = False,
) -> Verdict | None:
    """Errors and time-outs of one student call, named where the error message allows."""
    if call["timed_out"]:
        return Verdict.failure(
            "timeout",
            context + "\n" + t("detail.timeout", symbol=symbol, limit=number(call["limit"])),
            section=section,
        )
    err = call["error"]
    if err is None:
        return None
    said = t("detail.raised", symbol=symbol, type=err["type"], message=err["message"])
    detail = context + "\n" + said + _where(err)
    message = err["message"]
    if err["type"] == "NotImplementedError":
        return Verdict.failure("not_implemented", t("detail.not_implemented", symbol=symbol))
    if "in-place" in message or "inplace" in message:
        return Verdict.failure("modified_input", detail, section=section)
    if "numpy()" in message and "requires grad" in message:
        return Verdict.failure("breaks_autograd", detail, section=section)
    if "does not require grad" in message or "does not have a grad_fn" in message:
        causes = autograd_causes(call["calls"])
        return Verdict.failure("breaks_autograd", detail + causes, section=section)
    if err["type"] == "TypeError" and "not callable" in message and symbol in message:
        return Verdict.failure("raised", detail, section=section)
    if window_errors and (err["type"] == "IndexError" or _WINDOW_ERRORS.search(message)):
        return Verdict.failure(
            "off_by_one", detail, section=section, tentative=True, guess=t("detail.window_error")
        )
    return Verdict.failure("raised", detail, section=section)


def callable_problem(obs: dict, symbol: str, *, section: str, want: str = "function"):
    """The student passed something that cannot be called (a result instead of a function)."""
    if "not_callable" not in obs:
        return None
    out = obs["not_callable"]
    shown = out.get("repr", out.get("value", out.get("shape", "")))
    return Verdict.failure(
        "wrong_type",
        t(
            "detail.not_callable",
            symbol=symbol,
            type=out["type"],
            value=shown,
            want=t("want." + want),
        ),
        section=section,
    )


def returned_none(symbol: str, context: str, *, section: str) -> Verdict:
    """The student's function returned None (a missing ``return``)."""
    return Verdict.failure(
        "returned_none", context + "\n" + t("detail.returned_none", symbol=symbol), section=section
    )


def wrong_type(symbol: str, type_name: str, shown, want: str, context: str, *, section: str):
    """The student's object is of the wrong kind altogether (``want`` says what was expected)."""
    detail = t("detail.wrong_type", symbol=symbol, type=type_name, value=shown, want=want)
    return Verdict.failure("wrong_type", context + "\n" + detail, section=section)


def output_problem(
    out: dict,
    symbol: str,
    *,
    context: str,
    section: str,
    expected: torch.Tensor | None = None,
    want: str = "tensor",
) -> Verdict | None:
    """Problems of the returned object's kind: None, NumPy/list instead of a tensor, device."""
    kind = out["kind"]
    if kind == "none":
        return returned_none(symbol, context, section=section)
    if kind in ("ndarray", "list", "tuple") and out.get("tensor") is not None:
        right = expected is not None and same(out["tensor"], expected)
        key = "detail.not_a_tensor_right" if right else "detail.not_a_tensor"
        return Verdict.failure(
            "not_a_tensor",
            context + "\n" + t(key, symbol=symbol, type=out["type"]),
            section=section,
        )
    if kind != "tensor":
        shown = out.get("repr", out.get("value", ""))
        return wrong_type(symbol, out["type"], shown, t("want." + want), context, section=section)
    if out["device"] != "cpu":
        return Verdict.failure(
            "wrong_device",
            context + "\n" + t("detail.wrong_device", symbol=symbol, device=out["device"]),
            section=section,
        )
    if out["tensor"] is None:
        return Verdict.failure(
            "wrong_type",
            context + "\n" + t("detail.unreadable", symbol=symbol, type=out["type"]),
            section=section,
        )
    return None


# How the record's names read best for a student (the rest are shown as recorded).
_SHOWN = {
    "torch.conv2d": "torch.nn.functional.conv2d (F.conv2d, torch.conv2d)",
    "torch.conv1d": "torch.nn.functional.conv1d",
    "torch.conv3d": "torch.nn.functional.conv3d",
    "torch.ops.aten.convolution": "torch.ops.aten.convolution",
    "aten.convolution": "word.aten_convolution",
    "grad": "torch.autograd.grad",
    ".grad": "word.reading_grad",
    "backward": ".backward()",
    "requires_grad_": ".requires_grad_()",
}


def _recorded_calls(obs: dict) -> list[dict]:
    """The traced calls of an observation (at top level or one dict deep)."""
    return [
        v
        for v in obs.values()
        if isinstance(v, dict) and "timed_out" in v and isinstance(v.get("record"), dict)
    ]


def _names(records: list[dict], key: str) -> list[str]:
    found: dict[str, None] = {}
    for record in records:
        for name in record.get(key) or ():
            found[str(name)] = None
    return list(found)


def _shown_name(name: str) -> str:
    shown = _SHOWN.get(name, name)
    return t(shown) if shown.startswith("word.") else shown


def _reason_pattern(template: str) -> re.Pattern:
    """A regular expression that reads the fields of ``template`` back from a filled one."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(pattern + r"\Z")


# The recorder writes its reasons with the English templates of the catalogue ("reason.*").
_REASONS = tuple(
    (key, _reason_pattern(text)) for key, text in TEXT_EN.items() if key.startswith("reason.")
)


def reason_text(reason: str) -> str:
    """A reason the recorder wrote (in English) in the current language; unknown ones as is."""
    for key, pattern in _REASONS:
        found = pattern.match(reason)
        if found:
            return t(key, **found.groupdict())
    return reason


def _shown(names: list[str], limit: int = 4) -> str:
    # A convolution seen at several levels: name what the code called (public names), not the
    # operator or the compiled routine below it.
    entry = [n for n in names if not n.startswith("aten.") and "._" not in n]
    chosen = list(dict.fromkeys(_shown_name(n) for n in (entry or names)))
    more = len(chosen) - limit
    return ", ".join(chosen[:limit]) + (f" (+{more})" if more > 0 else "")


def rule_problem(forbids, obs: dict, symbol: str, *, section: str) -> Verdict | None:
    """The first rule of ``forbids`` that the observation shows broken, as a verdict: the
    recorder switched off or a foreign hook (``recorder_tampered``), shipped code
    (``shipped_code``), a convolution module (``library_conv``), a library convolution
    (``library_conv``), autograd (``used_autograd``).  None when every rule holds."""
    forbids = frozenset(forbids or ())
    if not forbids:
        return None
    calls = _recorded_calls(obs)
    records = [c["record"] for c in calls]
    structure = obs.get("structure") if isinstance(obs.get("structure"), dict) else {}
    # An interrupted call may leave the hooks half undone: its time-out is the verdict.
    trusted = [c["record"] for c in calls if not c.get("timed_out")]
    reasons = _names(trusted, "recorder_disabled") + _names(trusted, "foreign_hook")
    if reasons:
        shown = "; ".join(reason_text(r) for r in reasons[:4])
        detail = t("detail.recorder_tampered", symbol=symbol, reasons=shown)
        return Verdict.failure("recorder_tampered", detail, section=section)

    def broken(key: str, detail_key: str, names: list[str], rule: str) -> Verdict:
        detail = t(detail_key, symbol=symbol, names=_shown(names))
        detail += "\n" + t("detail.rule", rule=t("rule." + rule))
        return Verdict.failure(key, detail, section=section)

    if SHIPPED in forbids:
        bases = [str(n) for n in structure.get("shipped_bases") or ()]
        if bases:
            return broken("shipped_code", "detail.shipped_base", bases, SHIPPED)
        ran = _names(records, "shipped")
        if ran:
            return broken("shipped_code", "detail.shipped_code", ran, SHIPPED)
    if CONV_MODULE in forbids:
        bases = [str(n) for n in structure.get("conv_bases") or ()]
        if bases:
            return broken("library_conv", "detail.conv_base", bases, CONV_MODULE)
        parts = [str(n) for n in structure.get("conv_parts") or ()] + _names(records, "modules")
        if parts:
            return broken("library_conv", "detail.conv_part", parts, CONV_MODULE)
    if LIBRARY_CONV in forbids:
        used = _names(records, "modules") + _names(records, "library")
        if used:
            return broken("library_conv", "detail.library_conv", used, LIBRARY_CONV)
    if AUTOGRAD in forbids:
        used = _names(records, "autograd")
        if used:
            return broken("used_autograd", "detail.used_autograd", used, AUTOGRAD)
    return None


def modified_problem(modified: list[str], symbol: str, *, context: str, section: str):
    if not modified:
        return None
    return Verdict.failure(
        "modified_input",
        context + "\n" + t("detail.modified_input", symbol=symbol, names=", ".join(modified)),
        section=section,
    )


def autograd_causes(calls: dict) -> str:
    """The operations seen in the student's code that cut the autograd graph, as a sentence."""
    found = []
    for name, shown in (
        ("item", ".item()"),
        ("__float__", "float(...)"),
        ("tolist", ".tolist()"),
        ("detach", ".detach()"),
        (".data", ".data"),
        ("numpy", ".numpy()"),
        ("__array__", "np.array(...)"),
        ("no_grad", "torch.no_grad()"),
    ):
        if calls.get(name):
            found.append(shown)
    if not found:
        return ""
    return "\n" + t("detail.autograd_causes", names=", ".join(found))


def shape_mistake(got_shape, X_shape, K_shape) -> tuple[str, str, bool] | None:
    """Name a wrong output shape of a 'valid' cross-correlation of ``X_shape`` with ``K_shape``.

    Returns (key, detail, tentative), or None when the shape is right.  Tentative when the
    shape alone cannot tell: several mistakes give this shape (with a 1-wide kernel "same"
    padding is also one column too many), or the mistake is a guess (code for squares only,
    a hard-coded size, on a square input a transposed kernel).
    """
    g = tuple(int(s) for s in got_shape)
    (n_h, n_w), (k_h, k_w) = tuple(X_shape), tuple(K_shape)
    o = (n_h - k_h + 1, n_w - k_w + 1)
    if g == o:
        return None
    want = shape_text(o)
    if len(g) != 2:
        if tuple(s for s in g if s != 1) == tuple(s for s in o if s != 1):
            return "wrong_shape", t("detail.extra_dims", got=shape_text(g), want=want), False
        return "wrong_shape", t("detail.shape_other", got=shape_text(g), want=want), False
    square_like = {
        (o[0], o[0]),
        (o[1], o[1]),
        (n_h - k_w + 1, n_w - k_h + 1),
        (n_h - k_h + 1, n_w - k_h + 1),
        (n_h - k_w + 1, n_w - k_w + 1),
    }
    one_less = {(o[0] - 1, o[1]), (o[0], o[1] - 1)}
    one_more = {(o[0] + 1, o[1]), (o[0], o[1] + 1)}
    rules = [
        ("off_by_one", "detail.shape_minus", g == (o[0] - 1, o[1] - 1)),
        ("off_by_one", "detail.shape_plus", g == (o[0] + 1, o[1] + 1)),
        ("swapped_hw", "detail.shape_swapped", g == (o[1], o[0])),
        ("square_only", "detail.shape_square", (n_h != n_w or k_h != k_w) and g in square_like),
        ("padded_output", "detail.shape_padded", g in {(n_h, n_w), (n_h + k_h - 1, n_w + k_w - 1)}),
        ("off_by_one", "detail.shape_minus", g in one_less),
        ("off_by_one", "detail.shape_plus", g in one_more),
        (
            "hardcoded_example",
            "detail.shape_hardcoded",
            g in {(6, 7), (5, 7), (6, 8), (2, 2), (6 - k_h + 1, 8 - k_w + 1)},
        ),
    ]
    matched = [(key, detail) for key, detail, hit in rules if hit]
    if not matched:
        return "wrong_shape", t("detail.shape_other", got=shape_text(g), want=want), False
    key, detail = matched[0]
    unsure = (
        len({k for k, _ in matched}) > 1
        or key in TENTATIVE_SHAPES
        or (key == "swapped_hw" and n_h == n_w)
    )
    return key, t(detail, got=shape_text(g), want=want), unsure


#: Shape mistakes that are guesses: a later case may show the real cause.
TENTATIVE_SHAPES = frozenset({"square_only", "hardcoded_example"})


# The lesson's outputs: a function that returns one of these on other inputs was hard-coded.
LESSON_OUTPUTS = (torch.tensor([[19.0, 25.0], [37.0, 43.0]]),)


def _last_lines_zero(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """True when got equals expected except that its last row and/or column stayed zero."""
    o_h, o_w = expected.shape
    for rows, cols in ((o_h - 1, o_w), (o_h, o_w - 1), (o_h - 1, o_w - 1)):
        if rows < 1 or cols < 1:  # something must have been filled
            continue
        variant = expected.clone()
        variant[rows:, :] = 0
        variant[:, cols:] = 0
        if not same(variant, expected) and same(got, variant):
            return True
    return False


def correlation_mistake(
    X: torch.Tensor, K: torch.Tensor, got: torch.Tensor, expected: torch.Tensor, *, mode="corr"
) -> tuple[str, str, bool] | None:
    """Name the mistake whose output ``got`` matches (same shape as ``expected``).

    ``mode`` is "corr" when cross-correlation was asked, "conv" when true convolution was.
    Returns (key, detail, ambiguous): ambiguous when mistakes with different names produce
    the same output on this case (on the lesson's 3x3 example, whose values grow linearly,
    many kernels give the same result), so that another case should decide.
    """
    Xf, Kf = as_float(X), as_float(K)
    variants = []
    if mode == "corr":
        variants.append(("flipped_kernel", torch.flip(Kf, (0, 1)), "detail.flipped_both"))
        variants.append(("flipped_kernel", torch.flip(Kf, (0,)), "detail.flipped_rows"))
        variants.append(("flipped_kernel", torch.flip(Kf, (1,)), "detail.flipped_cols"))
    else:
        variants.append(("not_flipped", Kf, "detail.not_flipped"))
        variants.append(("flipped_one_axis", torch.flip(Kf, (0,)), "detail.flip_one_rows"))
        variants.append(("flipped_one_axis", torch.flip(Kf, (1,)), "detail.flip_one_cols"))
    if Kf.shape[0] == Kf.shape[1]:
        variants.append(("transposed_kernel", Kf.T, "detail.transposed_kernel"))
    found: list[tuple[str, str]] = []
    for key, K_variant, detail in variants:
        out = xcorr2d(Xf, K_variant)
        if not same(out, expected) and same(got, out):
            found.append((key, t(detail)))
    if same(got, expected.T) and not same(expected, expected.T):
        found.append(("swapped_hw", t("detail.values_transposed")))
    for rounding in (torch.trunc, torch.floor, torch.round):
        rounded = rounding(as_float(expected))
        if not same(rounded, expected) and same(got, rounded):
            dtype = str(got.dtype).replace("torch.", "")
            found.append(("int_truncation", t("detail.int_truncation", dtype=dtype)))
            break
    if _last_lines_zero(got, expected):
        found.append(("off_by_one", t("detail.last_zero")))
    for lesson in LESSON_OUTPUTS:
        if same(got, lesson) and not same(expected, lesson):
            found.append(("hardcoded_example", t("detail.lesson_output")))
    if not found:
        return None
    key, detail = found[0]
    return key, detail, len({k for k, _ in found}) > 1
