"""The Chinese edition's figures: Chinese titles and labels, drawn with real glyphs.

matplotlib warns "Glyph ... missing from font(s)" for every character its fonts lack (and draws
an empty box); each figure of ``convcourse.plots`` and the learning-rate plot of the widgets is
rendered to PNG with warnings recorded, in both languages.
"""

from __future__ import annotations

import re
import string
import warnings

import matplotlib
import pytest
import torch

from convcourse import fonts, plots, widgets
from convcourse.checks.messages import using_language
from convcourse.figure_text import FIGURE_TEXT

CJK = re.compile(r"[\u4e00-\u9fff]")


X = torch.arange(30.0).reshape(5, 6)
K = torch.tensor([[1.0, -1.0]])
FIGURES = [
    lambda: plots.plot_sliding_window(X, K, 1, 2),
    lambda: plots.plot_weight_pattern((6, 6), delta=1),
    lambda: plots.plot_kernel_effect(X, K),
    lambda: plots.plot_kernel_gallery(torch.rand(12, 12), {"edge": K, "blur": torch.ones(3, 3)}),
    lambda: widgets._plot_losses({0.03: [4.0, 2.0, 1.0]}, steps=3),
]


def _render(make) -> tuple[list[str], str]:
    """(font warnings, all the text of the figure) after making it and drawing it to PNG."""
    import io

    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = make()  # tight_layout already measures (and warns about) every glyph
        fig.savefig(io.BytesIO(), format="png")
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    return missing, texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_figure_is_drawn_without_missing_glyphs(lang):
    with using_language(lang):
        for make in FIGURES:
            missing, texts = _render(make)
            assert not missing, missing[:3]
            assert bool(CJK.search(texts)) == (lang == "zh"), texts


def test_without_the_font_chinese_text_would_be_empty_boxes(monkeypatch):
    # The check above can fail: the same figure with matplotlib's own font only.
    monkeypatch.setattr(fonts, "_ready", None)
    monkeypatch.setattr(fonts, "cjk_font_file", lambda: None)
    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["DejaVu Sans"])
    with using_language("zh"):
        missing, _ = _render(FIGURES[1])
    assert missing and "DejaVu Sans" in missing[0]


def test_the_font_is_installed_and_registered():
    assert fonts.cjk_font_file() is not None, "mplfonts (requirements/lock.txt) is not installed"
    assert fonts.use_course_fonts()
    assert fonts.CJK_FAMILY in matplotlib.rcParams["font.family"]


def test_every_figure_text_has_chinese_with_the_same_placeholders():
    def fields(text):
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    en, zh = FIGURE_TEXT["en"], FIGURE_TEXT["zh"]
    assert set(en) == set(zh)
    for key in en:
        assert fields(en[key]) == fields(zh[key]), key
        assert CJK.search(zh[key]), key
