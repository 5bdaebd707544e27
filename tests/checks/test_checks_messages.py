"""The catalogue: every key used exists, every template formats, translations can be added."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import convcourse.checks as checks
from convcourse.checks import EXERCISES, MISCONCEPTION_KEYS, SPEED_EXERCISES, messages

PACKAGE = Path(checks.__file__).parent
TEXT_KEY = re.compile(
    r"^(detail|want|word|case|confirm|header|note|picture|verdict|render)\.[\w.-]+$"
)


def _source_trees():
    for path in sorted(PACKAGE.glob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_every_text_key_in_the_code_exists():
    missing = set()
    for path, tree in _source_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if TEXT_KEY.match(node.value) and node.value not in messages.TEXT_EN:
                    missing.add((path.name, node.value))
    assert not missing


def test_every_misconception_named_in_the_code_exists():
    named = set()
    for _, tree in _source_trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) in ("failure", "retitled")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                named.add(node.args[0].value)
            # Variant tables: ("key", "detail.xxx", ...)
            if (
                isinstance(node, ast.Tuple)
                and len(node.elts) >= 2
                and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts[:2]
                )
                and node.elts[1].value.startswith("detail.")
            ):
                named.add(node.elts[0].value)
    assert named <= MISCONCEPTION_KEYS, named - MISCONCEPTION_KEYS


def test_dynamic_keys_exist():
    for ex in [*EXERCISES.values(), *SPEED_EXERCISES.values()]:
        assert "confirm." + ex.id in messages.TEXT_EN
        for hidden in (False, True):
            for case in ex.cases(1, hidden=hidden):
                assert "case." + case.kind in messages.TEXT_EN
                assert case.label


@pytest.mark.parametrize("key", sorted(MISCONCEPTION_KEYS))
def test_every_misconception_composes(key):
    m = messages.misconception(key)
    assert m.title and m.explanation and m.hint
    assert m.section is None or m.section in messages.SECTIONS_EN
    text = messages.compose(key, "On a case:\n1 2", "corr")
    assert text.startswith(m.title) and f"[{key}]" in text
    assert "Why: " in text and "Hint: " in text and "Lesson" in text


def test_catalogues_have_the_same_keys():
    english = messages.CATALOGUES["en"]
    for code, catalogue in messages.CATALOGUES.items():
        assert set(catalogue.text) == set(english.text), code
        assert set(catalogue.misconceptions) == set(english.misconceptions), code
        assert set(catalogue.sections) == set(english.sections), code


def test_a_translation_can_be_added(monkeypatch):
    english = messages.CATALOGUES["en"]
    shout = messages.Catalogue(
        english.sections,
        {
            k: messages.Misconception(m.title.upper(), m.explanation, m.hint, m.section)
            for k, m in english.misconceptions.items()
        },
        dict(english.text),
    )
    monkeypatch.setitem(messages.CATALOGUES, "xx", shout)
    from checks_impls import corr2d_flipped

    try:
        messages.set_language("xx")
        with pytest.raises(checks.CheckFailed) as info:
            checks.check_corr2d(corr2d_flipped)
        assert "TRUE CONVOLUTION INSTEAD OF CROSS-CORRELATION" in str(info.value)
    finally:
        messages.set_language(None)  # back to the automatic choice
    monkeypatch.delenv(messages.ENV_LANGUAGE, raising=False)
    assert messages.language() == "en"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="no catalogue"):
        messages.set_language("tlh")


def test_no_student_facing_f_strings_in_judges():
    """Texts come from the catalogue: judges do not build English sentences themselves."""
    words = re.compile(r"\b(your|expected|should|must)\b", re.IGNORECASE)
    offenders = []
    for path, tree in _source_trees():
        if path.name == "messages.py":
            continue
        in_raise = {
            id(n) for r in ast.walk(tree) if isinstance(r, ast.Raise) for n in ast.walk(r)
        }  # errors for programmers, not feedback
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and id(node) not in in_raise:
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if words.search(text):
                    offenders.append((path.name, node.lineno, text))
    assert not offenders
