"""Synthetic answers to lesson 02's exercises: honest variants and planted copies.

An honest answer is drawn from many small independent choices (how the shapes are read, how
the output is allocated, the loop, the body, local names, spacing, comments, extra checks), as
independent students differ; a planted copy is another student's answer with every local name
renamed, the spacing, blank lines and comments changed, and its independent statements
reordered.  Used by tests/instructor/test_reporting_similarity.py and benchmarks/similarity.py.
"""

from __future__ import annotations

import builtins
import keyword
import random
import re

LESSON = "02_cross_correlation"
NAMES = [
    "a", "b", "c", "d", "m", "n", "p", "q", "r", "s", "t", "u", "v", "z", "ii", "jj", "idx",
    "row", "col", "out", "res", "acc", "buf", "tmp", "val", "win", "part", "size", "dim", "hh",
    "ww", "kh", "kw", "nh", "nw", "oh", "ow", "h_out", "w_out", "result", "total", "patch",
    "block", "piece", "height", "width", "rows", "cols", "top", "left", "x0", "y0", "Yhat",
]  # fmt: skip
PLUS_ONE = ["{n} - {k} + 1", "{n} + 1 - {k}", "1 + {n} - {k}", "({n} - {k}) + 1"]


def _names(rng: random.Random, count: int) -> list[str]:
    return rng.sample(NAMES, count)


def _sp(rng: random.Random, op: str) -> str:
    return op if rng.random() < 0.2 else f" {op} "


def _body(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def output_shape(rng: random.Random) -> str:
    n_h, n_w, k_h, k_w = _names(rng, 4)
    form = rng.choice(PLUS_ONE)
    head = ["def output_shape(X_shape, K_shape):"]
    if rng.random() < 0.5:
        head.append(f"    {n_h}, {n_w} = X_shape")
        head.append(f"    {k_h}, {k_w} = K_shape")
        pair = [form.format(n=n_h, k=k_h), form.format(n=n_w, k=k_w)]
    else:
        pair = [
            form.format(n="X_shape[0]", k="K_shape[0]"),
            form.format(n="X_shape[1]", k="K_shape[1]"),
        ]
    if rng.random() < 0.3:
        head.append("    assert len(X_shape) == 2 and len(K_shape) == 2")
    if rng.random() < 0.5:
        head.append(f"    return ({pair[0]}, {pair[1]})")
    else:
        head.append(f"    {n_h}_o = {pair[0]}")
        head.append(f"    {n_w}_o = {pair[1]}")
        head.append(f"    return {n_h}_o, {n_w}_o")
    return _body(head)


def _loop_2d(rng, i, j, n_i, n_j, body, indent="    ") -> list[str]:
    style = rng.randrange(3)
    if style == 0:
        return [
            f"{indent}for {i} in range({n_i}):",
            f"{indent}    for {j} in range({n_j}):",
            *[f"{indent}        {line}" for line in body],
        ]
    if style == 1:
        return [
            f"{indent}for {i} in range(0, {n_i}):",
            f"{indent}    for {j} in range(0, {n_j}, 1):",
            *[f"{indent}        {line}" for line in body],
        ]
    return [
        f"{indent}{i} = 0",
        f"{indent}while {i} < {n_i}:",
        f"{indent}    {j} = 0",
        f"{indent}    while {j} < {n_j}:",
        *[f"{indent}        {line}" for line in body],
        f"{indent}        {j} += 1",
        f"{indent}    {i} += 1",
    ]


def _sliding(rng: random.Random, fname: str, flip: bool) -> str:
    h, w, Y, i, j, oh, ow, win = _names(rng, 8)
    lines = [f"def {fname}(X, K):"]
    setup = []
    if flip:
        setup.append(
            rng.choice(
                ["K = torch.flip(K, dims=(0, 1))", "K = K.flip(0).flip(1)",
                 "K = torch.flip(K, [0, 1])", "K = K.flip((0, 1))", "K = K[::-1, ::-1]"]
            )
        )  # fmt: skip
    shape_style = rng.randrange(4)
    if shape_style == 0:
        setup.append(f"{h}, {w} = K.shape")
    elif shape_style == 1:
        setup += [f"{h} = K.shape[0]", f"{w} = K.shape[1]"]
    elif shape_style == 2:
        setup.append(f"{h}, {w} = K.shape[0], K.shape[1]")
    else:
        setup += [f"{h} = K.size(0)", f"{w} = K.size(1)"]
    if rng.random() < 0.3:
        setup.append(rng.choice(["X = X.float()", "X = X.to(torch.float32)", "K = K.float()"]))
    if rng.random() < 0.3:
        setup.append(
            rng.choice(["assert X.dim() == 2", "assert K.ndim == 2", "assert X.ndim == 2"])
        )
    rng.shuffle(setup)
    form = rng.choice(PLUS_ONE)
    sizes = [form.format(n="X.shape[0]", k=h), form.format(n="X.shape[1]", k=w)]
    if rng.random() < 0.6:
        setup += [f"{oh} = {sizes[0]}", f"{ow} = {sizes[1]}"]
        sizes = [oh, ow]
    if rng.random() < 0.3:
        setup.append(f"if {sizes[0]} < 1 or {sizes[1]} < 1:")
        setup.append("    raise ValueError('the kernel is larger than the input')")
    alloc = rng.choice(
        ["torch.zeros(({a}, {b}))", "torch.zeros({a}, {b})", "torch.empty({a}, {b})",
         "torch.zeros(({a}, {b}), dtype=X.dtype)", "X.new_zeros(({a}, {b}))",
         "torch.zeros(size=({a}, {b}))", "torch.zeros([{a}, {b}], dtype=torch.float32)"]
    )  # fmt: skip
    setup.append(f"{Y} = {alloc.format(a=sizes[0], b=sizes[1])}")
    window = rng.choice(
        ["X[{i}:{i}+{h}, {j}:{j}+{w}]", "X[{i}:{h}+{i}, {j}:{w}+{j}]",
         "X[{i}:({i} + {h}), {j}:({j} + {w})]", "X[{i}:{i}+{h}][:, {j}:{j}+{w}]"]
    ).format(i=i, j=j, h=h, w=w)  # fmt: skip
    product = rng.choice(
        [
            "({a} * K).sum()",
            "torch.sum({a} * K)",
            "torch.mul({a}, K).sum()",
            "(K * {a}).sum()",
            "torch.sum(K * {a})",
            "({a} * K).sum().item()",
            "float(({a} * K).sum())",
            "torch.dot({a}.reshape(-1), K.reshape(-1))",
        ]
    )
    index = rng.choice(["[{i}, {j}]", "[{i}][{j}]"]).format(i=i, j=j)
    if rng.random() < 0.5:
        body = [f"{Y}{index} = {product.format(a=window)}"]
    else:
        body = [f"{win} = {window}", f"{Y}{index} = {product.format(a=win)}"]
    bounds = rng.choice(
        [(f"{Y}.shape[0]", f"{Y}.shape[1]"), (sizes[0], sizes[1]), (f"len({Y})", f"{Y}.shape[1]"),
         (f"{Y}.size(0)", f"{Y}.size(1)")]
    )  # fmt: skip
    loops = _loop_2d(rng, i, j, bounds[0], bounds[1], body)
    ending = f"return {Y}.clone()" if rng.random() < 0.1 else f"return {Y}"
    lines += ["    " + s for s in setup] + loops + ["    " + ending]
    return _body(lines)


def corr2d(rng: random.Random) -> str:
    return _sliding(rng, "corr2d", flip=False)


def convolve2d(rng: random.Random) -> str:
    if rng.random() < 0.5:
        flipped = rng.choice(["torch.flip(K, dims=(0, 1))", "K.flip(0).flip(1)", "K.flip((0, 1))"])
        return _body(["def convolve2d(X, K):", f"    return corr2d(X, {flipped})"])
    return _sliding(rng, "convolve2d", flip=True)


def corr2d_fast(rng: random.Random) -> str:
    h, w, P, Y = _names(rng, 4)
    lines = ["def corr2d_fast(X, K):"]
    setup = [rng.choice([f"{h}, {w} = K.shape", f"{h}, {w} = K.shape[0], K.shape[1]"])]
    if rng.random() < 0.4:
        setup.append(rng.choice(["X = X.float()", "X = X.to(K.dtype)"]))
    rng.shuffle(setup)
    style = rng.randrange(3)
    if style == 0:
        core = [
            f"{P} = X.unfold(0, {h}, 1).unfold(1, {w}, 1)",
            f"{Y} = ({P} * K).sum(dim=(-2, -1))",
        ]
    elif style == 1:
        core = [
            f"{P} = X.unfold(0, {h}, 1).unfold(1, {w}, 1)",
            f"{Y} = torch.einsum('ijkl,kl->ij', {P}, K)",
        ]
    else:
        core = [
            f"{P} = X.unfold(0, {h}, 1)",
            f"{P} = {P}.unfold(1, {w}, 1)",
            f"{Y} = ({P} * K).sum(-1).sum(-1)",
        ]
    if rng.random() < 0.3:
        core.append(f"{Y} = {Y}.contiguous()")
    lines += ["    " + s for s in setup + core] + [f"    return {Y}"]
    return _body(lines)


GENERATORS = {
    "output-shape": output_shape,
    "corr2d": corr2d,
    "convolve2d": convolve2d,
    "corr2d-fast": corr2d_fast,
}


def honest_answers(rng: random.Random) -> dict[str, str]:
    """grade id -> an honest answer, for each of lesson 02's generated exercises."""
    return {gid: make(rng) for gid, make in GENERATORS.items()}


_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
_KEEP = {"X", "K", "X_shape", "K_shape", "torch", "corr2d", "convolve2d", "corr2d_fast"}
_KEEP |= {"output_shape", "range", "len", "def", "return", "for", "in", "while", "assert"}
_KEEP |= {"dims", "dtype", "size"} | set(keyword.kwlist) | set(dir(builtins))


def planted_copy(rng: random.Random, source: str) -> str:
    """``source`` disguised: locals renamed, spacing, blank lines and comments changed, and two
    adjacent independent assignments swapped where there are some."""
    names = {m.group() for m in _IDENT.finditer(source)} - _KEEP
    attrs = {m.group(1) for m in re.finditer(r"\.(\w+)", source)}
    names -= attrs
    fresh = iter(rng.sample([f"v_{n}_{rng.randrange(99)}" for n in NAMES], len(NAMES)))
    mapping = {n: next(fresh) for n in sorted(names)}
    text = _IDENT.sub(lambda m: mapping.get(m.group(), m.group()), source)
    lines = text.splitlines()
    for index in range(1, len(lines) - 1):  # swap the first two adjacent independent lines
        a, b = lines[index], lines[index + 1]
        if _independent(a, b):
            lines[index], lines[index + 1] = b, a
            break
    out = []
    for line in lines:
        line = re.sub(r" ([+*-]) ", r"\1", line) if rng.random() < 0.5 else line
        line = line.replace(", ", ",")
        out.append(line + ("  # my step" if rng.random() < 0.3 and line.strip() else ""))
        if rng.random() < 0.25:
            out.append("")
    return "# copied? no, mine\n" + "\n".join(out) + "\n"


def _independent(a: str, b: str) -> bool:
    """Two assignment lines at the same indent neither of which reads what the other sets."""
    pattern = re.compile(r"^(\s+)([\w, ]+) = (.+)$")
    ma, mb = pattern.match(a), pattern.match(b)
    if not (ma and mb) or ma.group(1) != mb.group(1):
        return False
    set_a = {n.strip() for n in ma.group(2).split(",")}
    set_b = {n.strip() for n in mb.group(2).split(",")}
    read_a = set(_IDENT.findall(ma.group(3)))
    read_b = set(_IDENT.findall(mb.group(3)))
    return not (set_a & read_b) and not (set_b & read_a) and not (set_a & set_b)


def cohort(n: int, copies: int, seed: int = 0):
    """``n`` students' answers (``copies`` of them planted copies of another's, each of a
    different original), and the planted pairs as (original, copy)."""
    rng = random.Random(seed)
    students = [f"s{index:04d}" for index in range(n)]
    answers = {s: honest_answers(rng) for s in students}
    planted = []
    copiers = rng.sample(students, copies)
    honest = [s for s in students if s not in copiers]
    for copier, original in zip(copiers, rng.sample(honest, copies), strict=True):
        answers[copier] = {gid: planted_copy(rng, src) for gid, src in answers[original].items()}
        planted.append((original, copier))
    return answers, planted
