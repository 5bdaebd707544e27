"""The Chinese catalogue: complete, faithful to the placeholders, chosen by CONVCOURSE_LANG."""

from __future__ import annotations

import re
import string

import pytest

import convcourse.checks as checks
from convcourse.checks import CheckFailed, messages
from convcourse.checks.diagnose import reason_text
from convcourse.checks.render import shape_text, side_by_side, text_width

ZH = messages.CATALOGUES["zh"]
EN = messages.CATALOGUES["en"]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Texts that are pure code or notation, the same in every language.
NOTATION = {
    "header.pass",
    "header.fail",
    "verdict.title",
    "case.delta_one",
    "case.delta_two",
    "detail.internal_error",
    "detail.layer_init",
}


@pytest.fixture(autouse=True)
def _automatic_language(monkeypatch):
    """Every test starts from the automatic choice (no set_language), without the variable."""
    monkeypatch.delenv(messages.ENV_LANGUAGE, raising=False)
    messages.set_language(None)
    yield
    messages.set_language(None)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _english_texts():
    yield from (("section", k, v, ZH.sections.get(k)) for k, v in EN.sections.items())
    for k, m in EN.misconceptions.items():
        z = ZH.misconceptions.get(k)
        for part in ("title", "explanation", "hint"):
            yield part, k, getattr(m, part), None if z is None else getattr(z, part)
    yield from (("text", k, v, ZH.text.get(k)) for k, v in EN.text.items())


def test_every_english_text_has_a_chinese_one_with_the_same_placeholders():
    missing, placeholders, english = [], [], []
    for kind, key, en, zh in _english_texts():
        if zh is None:
            missing.append((kind, key))
            continue
        if _fields(zh) != _fields(en):
            placeholders.append((kind, key, _fields(en), _fields(zh)))
        if key in NOTATION:
            assert zh == en, key  # notation is not translated
        elif not CJK.search(zh):
            english.append((kind, key, zh))
    assert not missing
    assert not placeholders
    assert not english


def test_no_chinese_entry_without_an_english_one():
    assert set(ZH.text) == set(EN.text)
    assert set(ZH.misconceptions) == set(EN.misconceptions)
    assert set(ZH.sections) == set(EN.sections)
    for key, m in ZH.misconceptions.items():
        assert m.section == EN.misconceptions[key].section


def test_code_in_backticks_and_formulas_stay_as_in_english():
    """Inline code of a text (`...`) and the d2l-zh section numbers are kept or added, never
    altered: what a student copies from a message must be what the lesson says."""
    for _, key, en, zh in _english_texts():
        assert re.findall(r"`[^`]+`", en) == re.findall(r"`[^`]+`", zh), key
    assert all("《动手学深度学习》" in s for k, s in ZH.sections.items() if "d2l" in EN.sections[k])


def test_the_language_follows_the_environment_variable(monkeypatch):
    assert messages.language() == "en"
    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    assert messages.language() == "zh"
    assert messages.t("word.expected") == "期望值"
    monkeypatch.setenv("CONVCOURSE_LANG", "")  # empty counts as unset
    assert messages.language() == "en"


def test_set_language_overrides_the_variable_until_reset(monkeypatch):
    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    messages.set_language("en")
    assert messages.t("word.expected") == "expected"
    messages.set_language(None)
    assert messages.t("word.expected") == "期望值"
    monkeypatch.setenv("CONVCOURSE_LANG", "xx")
    messages.set_language("zh")  # an explicit choice does not read the variable at all
    assert messages.language() == "zh"


def test_an_unknown_language_in_the_variable_is_a_clear_error_when_a_message_is_needed(
    monkeypatch,
):
    from checks_impls import corr2d_loop

    monkeypatch.setenv("CONVCOURSE_LANG", "xx")
    with pytest.raises(ValueError) as info:
        checks.check_corr2d(corr2d_loop)
    said = str(info.value)
    assert "CONVCOURSE_LANG" in said and "'xx'" in said
    assert "'en'" in said and "'zh'" in said


def _zh_failure(monkeypatch, check, *objs, **kwargs) -> CheckFailed:
    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    with pytest.raises(CheckFailed) as info:
        check(*objs, **kwargs)
    return info.value


def _assert_in_chinese(failure: CheckFailed, key: str) -> str:
    text = str(failure)
    assert failure.misconception == key, text
    m = ZH.misconceptions[key]
    assert m.title in text and f"原因：{m.explanation}" in text and f"提示：{m.hint}" in text
    assert "  → 第 0" in text  # the lesson section, in Chinese
    # Nothing of the English scaffolding is left.
    for english in ("Why:", "Hint:", "On ", "expected", " got", "Lesson ", "Your "):
        assert english not in text, (english, text)
    return text


def test_a_flipped_kernel_gets_its_hint_in_chinese(monkeypatch):
    from checks_impls import corr2d_flipped

    text = _assert_in_chinese(
        _zh_failure(monkeypatch, checks.check_corr2d, corr2d_flipped), "flipped_kernel"
    )
    assert "互相关运算" in text and "第 02 课“互相关和卷积”" in text
    assert "期望值 (1×1)" in text and "你的结果 (1×1)" in text  # the labels of the case


def test_a_wrong_output_shape_gets_its_hint_in_chinese(monkeypatch):
    from checks_impls import output_shape_minus

    failure = _zh_failure(monkeypatch, checks.check_output_shape, output_shape_minus)
    text = _assert_in_chinese(failure, "off_by_one")
    assert "少了一行或一列" in text and "(n_h − k_h + 1, n_w − k_w + 1)" in text


def test_a_conv2d_without_bias_gets_its_hint_in_chinese(monkeypatch):
    from checks_impls import Conv2DNoBias

    text = _assert_in_chinese(
        _zh_failure(monkeypatch, checks.check_conv2d_layer, Conv2DNoBias), "missing_bias"
    )
    assert "这个层没有张量属性 `bias`" in text and "Conv2D(kernel_size=" in text


def test_a_training_loop_without_zero_grad_gets_its_hint_in_chinese(monkeypatch):
    from checks_impls import train_no_zero

    text = _assert_in_chinese(
        _zh_failure(monkeypatch, checks.check_train_kernel, train_no_zero), "no_zero_grad"
    )
    assert "梯度从未清零" in text and "迭代周期" in text


def test_a_hidden_case_is_described_in_chinese(monkeypatch):
    from checks_impls import corr2d_flipped

    failure = _zh_failure(monkeypatch, checks.check_corr2d, corr2d_flipped, seed=3, hidden=True)
    text = _assert_in_chinese(failure, "flipped_kernel")
    assert text.startswith("✗ corr2d (隐藏测试):") and "隐藏用例：" in text


def test_what_the_recorder_saw_is_told_in_chinese(monkeypatch):
    from checks_impls import corr2d_profile_off

    text = str(_zh_failure(monkeypatch, checks.check_corr2d, corr2d_profile_off))
    assert "检查无法观察你的代码" in text and "调用了 sys.setprofile" in text
    assert "was called" not in text


@pytest.mark.parametrize(
    "key", sorted(k for k in messages.TEXT_EN if k.startswith("reason.")), ids=str
)
def test_every_reason_of_the_recorder_is_read_back_and_translated(monkeypatch, key):
    fields = {name: f"Mode{i}" for i, name in enumerate(sorted(_fields(messages.TEXT_EN[key])))}
    written = messages.TEXT_EN[key].format(**fields)  # what the recorder writes
    assert reason_text(written) == written
    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    assert reason_text(written) == ZH.text[key].format(**fields)
    assert reason_text("something new") == "something new"


def test_a_passing_check_confirms_in_chinese(monkeypatch, capsys):
    from checks_impls import corr2d_loop

    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    checks.check_corr2d(corr2d_loop)
    said = capsys.readouterr().out
    assert said.startswith("✔ corr2d: 互相关运算在") and "梯度能传到 K" in said


def test_a_prediction_is_answered_in_chinese(monkeypatch, capsys):
    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    checks.check_prediction("l02-impulse", 1)
    said = capsys.readouterr().out
    assert said.startswith("✗ 不太对：你预测的是 1。")
    assert ZH.text["prediction.l02-impulse.hint"] in said


def test_chinese_headings_keep_the_columns_aligned(monkeypatch):
    monkeypatch.setenv("CONVCOURSE_LANG", "zh")
    assert shape_text(()) == "标量"
    assert text_width("期望值 (2)") == 10  # three wide characters
    text = side_by_side([["期望值 (2)", "1  2"], ["你的结果 (2)", "1  3"]])
    assert text.splitlines() == ["期望值 (2)    你的结果 (2)", "1  2" + " " * 10 + "1  3"]
