"""Editions of the lessons in another language, made from the English source and a translation.

The English instructor notebook stays the one source of truth.  A translation holds prose only:
one block per markdown cell, keyed by the cell's id, in ``translations/<lang>/<notebook>.md``::

    <!-- cell l01-objectives en:3f2a9c0d1b7e -->
    # 第 1 课 从全连接层到卷积
    ...

``en:`` is the first 12 hex digits of the sha256 of the English cell's text when its translation
was last checked against it.  Code cells, graded cells, grade ids, points, hidden tests and seeds
are taken from the English notebook as they are, so both editions grade the same by construction.
A block whose English text changed since (the hash differs), a markdown cell without a block, a
block for a cell that no longer exists, a block still marked ``todo`` and an empty block are
errors: ``convcourse release`` refuses to build the edition, and ``--check`` lists them.

Why a file per notebook keyed by cell id rather than language-tagged cells inside one notebook:
the instructor notebook stays a plain nbgrader source (nbgrader and nbval see one edition), the
translator edits a text file that diffs and reviews line by line, and the stored hash turns "the
English changed" into an error naming the cell instead of a silent drift.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from convcourse.editions import DEFAULT, EDITIONS

__all__ = [
    "LANGUAGES",
    "TRANSLATIONS_DIR",
    "Block",
    "Translation",
    "TranslationError",
    "english_hash",
    "parse",
    "render",
    "problems",
    "translate",
    "skeleton",
    "sync",
    "translation_path",
    "code_parity",
]

#: The editions besides English (language code -> kernel, display name, the language's name).
LANGUAGES = {lang: info for lang, info in EDITIONS.items() if lang != DEFAULT}
TRANSLATIONS_DIR = "translations"
_HASH_DIGITS = 12
_HEADER = re.compile(
    r"^<!-- cell (?P<id>[A-Za-z0-9_.-]+) en:(?P<hash>[0-9a-f]{12})(?P<todo> todo)? -->$"
)
_PREAMBLE = (
    "<!-- convcourse translation ({lang}) of {source}: one block per markdown cell. A block starts "
    "with a line `<!-- cell ID en:HASH -->`; HASH is the sha256 (first 12 hex digits) of the "
    "English cell's text when this translation was last checked against it. `todo` after the "
    "hash: not translated yet. Code cells are never translated: they come from the English "
    "notebook. -->"
)


class TranslationError(ValueError):
    """A translation that does not match its English notebook; ``issues`` lists each problem."""

    def __init__(self, path: str, issues: list[str]):
        self.path, self.issues = path, list(issues)
        listing = "\n".join(f"  {i}" for i in self.issues)
        super().__init__(f"{path}: {len(self.issues)} problem(s):\n{listing}")


def english_hash(text: str) -> str:
    """The short hash a translation block stores of the English text it was checked against."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_DIGITS]


@dataclass
class Block:
    cell_id: str
    en_hash: str
    text: str
    todo: bool = False
    line: int = 0  # where the header is in the file (1-based), for messages


@dataclass
class Translation:
    blocks: list[Block] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # lines of the file that do not parse

    def by_id(self) -> dict[str, Block]:
        return {b.cell_id: b for b in self.blocks}


def parse(text: str) -> Translation:
    """The blocks of a translation file (anything before the first block header is a comment)."""
    result = Translation()
    current: Block | None = None
    lines: list[str] = []
    seen: dict[str, int] = {}

    def close():
        if current is not None:
            current.text = "\n".join(lines).strip("\n")
            result.blocks.append(current)

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("<!-- cell "):
            match = _HEADER.match(line.rstrip())
            if match is None:
                result.errors.append(
                    f"line {number}: block header not understood (expected "
                    f"`<!-- cell ID en:HASH -->` with a 12-digit hex HASH): {line[:80]!r}"
                )
                continue
            close()
            cell_id = match["id"]
            if cell_id in seen:
                result.errors.append(
                    f"line {number}: a second block for cell {cell_id!r} (first at line "
                    f"{seen[cell_id]})"
                )
            seen[cell_id] = number
            current = Block(cell_id, match["hash"], "", bool(match["todo"]), number)
            lines = []
        elif current is not None:
            lines.append(line)
    close()
    return result


def render(translation: Translation, lang: str, source: str) -> str:
    """The file text of ``translation`` (the inverse of :func:`parse`)."""
    parts = [_PREAMBLE.format(lang=lang, source=source)]
    for b in translation.blocks:
        todo = " todo" if b.todo else ""
        parts.append(f"<!-- cell {b.cell_id} en:{b.en_hash}{todo} -->\n{b.text}")
    return "\n\n".join(parts) + "\n"


def _markdown_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "markdown"]


def problems(nb, translation: Translation) -> list[str]:
    """Everything that stops ``translation`` from making an edition of English notebook ``nb``."""
    issues = list(translation.errors)
    blocks = translation.by_id()
    english = {c.id: c for c in _markdown_cells(nb)}
    code_ids = {c.id for c in nb.cells if c.cell_type != "markdown"}
    for cell_id, cell in english.items():
        block = blocks.get(cell_id)
        if block is None:
            issues.append(
                f"cell {cell_id}: no translation (a markdown cell of the English notebook)"
            )
            continue
        where = f"cell {cell_id} (line {block.line})"
        if block.todo:
            issues.append(f"{where}: not translated yet (marked todo)")
        elif not block.text.strip():
            issues.append(f"{where}: the translation is empty")
        if block.en_hash != english_hash(cell.source):
            issues.append(
                f"{where}: the English text changed since this translation was checked "
                f"(stored en:{block.en_hash}, now en:{english_hash(cell.source)}); review the "
                "translation against the new English and update the hash"
            )
    for block in translation.blocks:
        if block.cell_id in code_ids:
            issues.append(
                f"cell {block.cell_id} (line {block.line}): is a code cell; code is never "
                "translated, it comes from the English notebook"
            )
        elif block.cell_id not in english:
            issues.append(
                f"cell {block.cell_id} (line {block.line}): the English notebook has no such cell"
            )
    return issues


def translate(nb, translation: Translation, lang: str, path: str = "translation"):
    """The ``lang`` edition of English notebook ``nb``: its markdown replaced, all else the same.

    Raises :class:`TranslationError` listing every problem when the translation does not fit.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"no edition for language {lang!r}; known: {sorted(LANGUAGES)}")
    issues = problems(nb, translation)
    if issues:
        raise TranslationError(path, issues)
    blocks = translation.by_id()
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = blocks[cell.id].text
    return out


def skeleton(nb, old: Translation | None = None, reviewed: set[str] = frozenset()) -> Translation:
    """A translation of ``nb`` keeping the blocks of ``old`` that still apply.

    Cells without a block get one holding the English text, marked ``todo``; blocks of cells that
    are gone are dropped; blocks are put in the notebook's order.  Stored hashes are kept, so a
    changed English text still shows as needing review, except for the cells in ``reviewed``:
    their blocks take the current English hash.
    """
    previous = old.by_id() if old is not None else {}
    blocks = []
    for cell in _markdown_cells(nb):
        kept = previous.get(cell.id)
        if kept is not None:
            if cell.id in reviewed:
                kept = Block(kept.cell_id, english_hash(cell.source), kept.text, kept.todo)
            blocks.append(kept)
        else:
            blocks.append(Block(cell.id, english_hash(cell.source), cell.source, todo=True))
    return Translation(blocks)


def translation_path(root: Path, lang: str, notebook: str) -> Path:
    """Where the ``lang`` translation of notebook file name ``notebook`` (``x.ipynb``) lives."""
    return Path(root) / TRANSLATIONS_DIR / lang / (Path(notebook).stem + ".md")


def sync(root: Path, lang: str, sources: list[Path], reviewed: set[str] = frozenset()) -> list[str]:
    """Bring the ``lang`` translation files of ``sources`` (English notebooks) up to the cells.

    New cells get ``todo`` blocks with their English text; blocks of removed cells go.  Returns
    the files written.  A stale hash stays stale unless its cell is in ``reviewed``.
    """
    import nbformat

    written = []
    for source in sources:
        nb = nbformat.read(source, as_version=4)
        path = translation_path(root, lang, source.name)
        old = parse(path.read_text(encoding="utf-8")) if path.exists() else None
        rel = Path(source).resolve().relative_to(Path(root).resolve()).as_posix()
        text = render(skeleton(nb, old, reviewed), lang, rel)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path.relative_to(root).as_posix())
    return written


def code_parity(english, edition) -> list[str]:
    """How notebook ``edition`` differs from ``english`` in anything but markdown text.

    The same cells in the same order, with the same ids, types, nbgrader metadata and, for every
    cell that is not markdown, the same source.
    """
    issues = []
    en_ids = [c.id for c in english.cells]
    ed_ids = [c.id for c in edition.cells]
    if en_ids != ed_ids:
        missing = [i for i in en_ids if i not in ed_ids]
        extra = [i for i in ed_ids if i not in en_ids]
        detail = f"missing {missing}" if missing else ""
        detail += ("; " if detail and extra else "") + (f"extra {extra}" if extra else "")
        return [f"the cells differ from the English notebook: {detail or 'in another order'}"]
    for en, ed in zip(english.cells, edition.cells, strict=True):
        if en.cell_type != ed.cell_type:
            issues.append(f"cell {en.id}: {ed.cell_type} here, {en.cell_type} in English")
        if en.metadata.get("nbgrader") != ed.metadata.get("nbgrader"):
            issues.append(f"cell {en.id}: nbgrader metadata differs from the English cell")
        if en.cell_type != "markdown" and en.source != ed.source:
            issues.append(f"cell {en.id}: code differs from the English cell")
    return issues
