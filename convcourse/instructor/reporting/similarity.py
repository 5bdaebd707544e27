"""Similar answers: winnowed fingerprints of normalised code, compared across students.

No library built for this ships with the course (copydetect and its kind are not in the lock
file, and adding one costs every installation), so this is the algorithm behind MOSS, winnowing
(Schleimer, Wilkerson & Aiken, SIGMOD 2003), in pure Python:

1. Each answer cell is tokenised with :mod:`tokenize`; comments, blank lines and spacing are
   dropped, every identifier a student can choose becomes one token ``N`` (keywords, builtins
   and attribute names such as ``.shape`` or ``torch.zeros`` stay: they cannot be renamed), every
   number ``#`` and every string ``S``.  A cell that does not tokenise (a syntax error) is read
   with a cruder regular expression instead, so it still counts.
2. Every run of ``K`` tokens is hashed; of each window of ``W`` consecutive hashes the smallest
   is kept (winnowing): any run of at least ``W + K - 1`` tokens shared by two cells yields a
   shared fingerprint, wherever it sits in each cell.  Fingerprints are a set, so moving a whole
   block elsewhere keeps all but the fingerprints at its edges.
3. The same is done to the cell's statements sorted (a bag of normalised lines), so that
   reordering independent statements does not hide a copy either.
4. Fingerprints of the released starter code and of the instructor's solution are removed (a
   student who pastes the model answer is not similar to another student: such answers are
   listed apart, :attr:`Result.solution_like`).  A fingerprint many students hold is idiom (the
   textbook's loop): it weighs ``log((n + 1) / holders)``, as a word's inverse document
   frequency, and when more than ``max(COMMON_MIN, COMMON_SHARE * n)`` students hold it, it is
   no reason to compare them (MOSS's ``-m``).
5. Candidate pairs come from an inverted index (fingerprint -> students) of the other
   fingerprints, never from all ``n * (n - 1) / 2`` pairs.  A pair's score is the weight of the
   fingerprints both have over the weight of the smaller side's, summed over the answer cells
   both answered (MOSS's "percent matched", weighted); it needs ``MIN_SHARED`` shared ones.

What it does not catch: a copy rewritten at the level of its logic (a loop turned into a
comprehension, an expression split into named steps throughout); a copy whose shared runs are
all shorter than ``W + K - 1`` tokens; a copy of an answer made only of idiom (nothing in it
tells it from honest answers); one copied cell among many honest ones scores the notebook lower
(each cell's own score is shown with the pair); code moved between cells of different grade ids;
markdown answers (not compared).  The default threshold was chosen on synthetic answers, where
honest variants and planted copies are known: on a real class, read the top of the list.
"""

from __future__ import annotations

import builtins
import io
import itertools
import keyword
import math
import re
import tokenize
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = [
    "K",
    "W",
    "COMMON_MIN",
    "COMMON_SHARE",
    "DEFAULT_THRESHOLD",
    "MIN_SHARED",
    "AnswerCell",
    "Pair",
    "Result",
    "fingerprints",
    "find_similar",
    "normalise",
]

K = 7  # tokens per hashed run: about half a line of code
W = 5  # winnowing window: every shared run of W + K - 1 = 11 tokens is found
COMMON_MIN = 10  # a fingerprint of more students than this (and than COMMON_SHARE) is idiom
COMMON_SHARE = 0.05
# On synthetic lesson 02 answers of 500 students (benchmarks/similarity.py, seeds 1-4) the highest
# honest pair scored 0.80 and the lowest planted copy 0.91.
DEFAULT_THRESHOLD = 0.85
SOLUTION_SHARE = 0.8  # of a cell's own fingerprints in the solution: "solution-like"
MIN_SHARED = 16  # fewer shared fingerprints (about two lines of code) is never a finding

_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", -2)
_CRUDE = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\"[^\"]*\"|'[^']*'|\S")
_SORTED_SALT = 0x5A17


@dataclass(frozen=True)
class AnswerCell:
    """An answer cell of the instructor's notebook: what every student's copy is compared on."""

    notebook: str
    grade_id: str
    starter: str  # the released stub
    solution: str  # the instructor's answer (excluded, never shown)


@dataclass
class Pair:
    a: str
    b: str
    score: float  # weight shared / the smaller side's weight, over the cells both answered
    shared: int
    cells: dict[tuple[str, str], float] = field(default_factory=dict)  # (nb, gid) -> score
    lines: dict[tuple[str, str], tuple[list[int], list[int]]] = field(default_factory=dict)


@dataclass
class Result:
    pairs: list[Pair]  # above the threshold, highest first
    compared: int  # students with at least one answered cell
    threshold: float
    unreadable: dict[str, str] = field(default_factory=dict)  # student -> why
    solution_like: dict[str, list[str]] = field(default_factory=dict)  # student -> grade ids
    sources: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    seconds: float = 0.0


def _token(tok, previous: str) -> str:
    kind, text = tok.type, tok.string
    if kind == tokenize.NAME:
        return text if text in _KEPT_NAMES or previous == "." else "N"
    if kind == tokenize.NUMBER:
        return "#"
    if kind == tokenize.STRING:
        return "S"
    if kind == tokenize.NEWLINE:
        return ";"
    if kind == tokenize.INDENT:
        return "{"
    if kind == tokenize.DEDENT:
        return "}"
    return text


def normalise(source: str) -> list[tuple[str, int]]:
    """The cell's tokens, normalised, each with its line number (1-based)."""
    # IPython lines (magics, shell escapes) are not Python; blank them, keeping line numbers.
    text = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
    out: list[tuple[str, int]] = []
    depth = 0
    last_line = max(1, len(source.splitlines()))  # the final DEDENTs sit on the line after
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text + "\n").readline):
            if tok.type == _FSTRING_START:
                depth += 1
                if depth == 1:
                    out.append(("S", min(tok.start[0], last_line)))
                continue
            if depth:
                depth -= tok.type == _FSTRING_END
                continue
            if tok.type in _SKIP:
                continue
            line = min(tok.start[0], last_line)
            out.append((_token(tok, out[-1][0] if out else ""), line))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = _crude_tokens(text)
    return out


def _crude_tokens(text: str) -> list[tuple[str, int]]:
    """Tokens of code that does not tokenise: words, numbers, strings and single characters."""
    out: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for match in _CRUDE.finditer(code):
            word = match.group()
            if word[0].isdigit():
                word = "#"
            elif word[0] in "\"'":
                word = "S"
            elif word[0].isalpha() or word[0] == "_":
                kept = word in _KEPT_NAMES or (out and out[-1][0] == ".")
                word = word if kept else "N"
            out.append((word, number))
        if code.strip():
            out.append((";", number))
    return out


def _statements(tokens: list[tuple[str, int]]) -> list[tuple[tuple[str, int], ...]]:
    statements, current = [], []
    for tok in tokens:
        current.append(tok)
        if tok[0] in (";", "{", "}"):
            statements.append(tuple(current))
            current = []
    if current:
        statements.append(tuple(current))
    return statements


_IDS: dict[str, int] = {}


def _winnow(tokens: list[tuple[str, int]], salt: int, into: dict[int, set]) -> None:
    """Add the winnowed fingerprints of ``tokens`` to ``into`` (hash -> set of line numbers)."""
    ids = []
    for text, _ in tokens:
        code = _IDS.get(text)
        if code is None:
            code = _IDS[text] = zlib.crc32(text.encode())  # the same in every process
        ids.append(code)
    hashes = [hash((salt, *ids[i : i + K])) for i in range(len(ids) - K + 1)]
    last = -1
    for start in range(max(1, len(hashes) - W + 1) if hashes else 0):
        window = hashes[start : start + W]
        low = min(window)
        # The rightmost minimum, as the paper's robust winnowing: fewer fingerprints per match.
        pick = start + len(window) - 1 - window[::-1].index(low)
        if pick == last:
            continue
        last = pick
        # The lines holding the run's tokens (not the comments and blank lines between them).
        into.setdefault(low, set()).update(line for _, line in tokens[pick : pick + K])


def fingerprints(source: str) -> dict[int, set[int]]:
    """Winnowed fingerprints of one cell, in its order and with its statements sorted."""
    tokens = normalise(source)
    found: dict[int, set[int]] = {}
    _winnow(tokens, 0, found)
    sorted_tokens = [tok for stmt in sorted(_statements(tokens), key=lambda s: [t for t, _ in s])
               for tok in stmt]  # fmt: skip
    _winnow(sorted_tokens, _SORTED_SALT, found)
    return found


def find_similar(
    answers: dict[str, dict[tuple[str, str], str]],
    cells: list[AnswerCell],
    threshold: float = DEFAULT_THRESHOLD,
) -> Result:
    """Pairs of students whose answers are similar.

    ``answers``: student -> (notebook, grade id) -> the student's source of that answer cell.
    """
    index = _Index()
    solution_like: dict[str, list[str]] = {}
    for cell in cells:
        key = (cell.notebook, cell.grade_id)
        starter = set(fingerprints(cell.starter))
        solution = set(fingerprints(cell.solution)) - starter
        per_student = {}
        for student in sorted(answers):
            source = answers[student].get(key)
            if source is None:
                continue
            own = fingerprints(source)
            mine = own.keys() - starter
            if mine and solution and len(mine & solution) >= SOLUTION_SHARE * len(mine):
                solution_like.setdefault(student, []).append(cell.grade_id)
            kept = {h: lines for h, lines in own.items() if h in mine and h not in solution}
            if kept:
                per_student[student] = kept
        index.add(key, per_student)
    pairs = []
    for (a, b), rare in index.rare_shared.items():
        pair = index.pair(a, b, rare, threshold)
        if pair.shared >= MIN_SHARED and pair.score >= threshold:
            for key in pair.cells:
                fa, fb = index.prints[key][a], index.prints[key][b]
                both = fa.keys() & fb.keys()
                pair.lines[key] = (_lines(fa, both), _lines(fb, both))
            pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.a, p.b))
    compared = len({s for per_student in index.prints.values() for s in per_student})
    return Result(pairs, compared, threshold, solution_like=solution_like, sources=answers)


class _Index:
    """Per answer cell: each student's fingerprints, their weights, and the inverted index.

    A fingerprint held by many students is idiom: it weighs little (as a word's inverse
    document frequency does) and is no reason to compare its holders, which keeps the candidate
    pairs few: only a fingerprint of at most ``max(COMMON_MIN, COMMON_SHARE * n)`` students
    makes its holders a candidate pair.
    """

    def __init__(self):
        self.prints: dict[tuple, dict[str, dict[int, set]]] = {}
        self.totals: dict[tuple, dict[str, float]] = {}
        self.common: dict[tuple, dict[str, dict[int, float]]] = {}  # the idiom each one holds
        self.common_total: dict[tuple, dict[str, float]] = {}
        self.rare_shared: dict[tuple[str, str], dict[tuple, list]] = defaultdict(dict)

    def add(self, key: tuple, per_student: dict[str, dict[int, set]]) -> None:
        holders: dict[int, list[str]] = defaultdict(list)
        for student, kept in per_student.items():  # students in sorted order: pairs (a < b)
            for h in kept:
                holders[h].append(student)
        n = len(per_student)
        weight = {h: math.log((n + 1) / len(who)) for h, who in holders.items()}
        limit = max(COMMON_MIN, COMMON_SHARE * n)
        common: dict[str, dict[int, float]] = defaultdict(dict)
        for h, who in holders.items():
            if len(who) > limit:
                for student in who:
                    common[student][h] = weight[h]
            elif len(who) > 1:
                for pair in itertools.combinations(who, 2):
                    tally = self.rare_shared[pair].setdefault(key, [0, 0.0])
                    tally[0] += 1
                    tally[1] += weight[h]
        self.prints[key] = per_student
        self.totals[key] = {s: sum(weight[h] for h in kept) for s, kept in per_student.items()}
        self.common[key] = common
        self.common_total[key] = {s: sum(held.values()) for s, held in common.items()}

    def pair(self, a: str, b: str, rare: dict[tuple, list], threshold: float) -> Pair:
        """The weighted share of the smaller side's fingerprints that the other has too, over
        the cells both answered (an unanswered cell neither helps nor hides a copy)."""
        pair = Pair(a, b, 0.0, 0)
        # Most candidates share a few rare fingerprints by chance: when even all the idiom of
        # the side with less of it were shared, the pair could not reach the threshold.
        bound = weight_a = weight_b = 0.0
        for key, totals in self.totals.items():
            if a in totals and b in totals:
                bound += rare.get(key, (0, 0.0))[1] + min(
                    self.common_total[key].get(a, 0.0), self.common_total[key].get(b, 0.0)
                )
                weight_a += totals[a]
                weight_b += totals[b]
        if bound < threshold * min(weight_a, weight_b):
            return pair
        shared_weight = weight_a = weight_b = 0.0
        for key, totals in self.totals.items():
            if a not in totals or b not in totals:
                continue
            count, cell_shared = rare.get(key, (0, 0.0))
            ca, cb = self.common[key].get(a, {}), self.common[key].get(b, {})
            if ca and cb:
                both = ca.keys() & cb.keys()
                count += len(both)
                cell_shared += sum(ca[h] for h in both)
            shared_weight += cell_shared
            weight_a += totals[a]
            weight_b += totals[b]
            if count:
                pair.shared += count
                smaller = min(totals[a], totals[b]) or 1.0
                pair.cells[key] = round(cell_shared / smaller, 3)
        smaller = min(weight_a, weight_b)
        pair.score = round(shared_weight / smaller, 3) if smaller else 0.0
        return pair


def _lines(kept: dict[int, set], hashes) -> list[int]:
    lines: set[int] = set()
    for h in hashes:
        lines |= kept[h]
    return sorted(lines)
