"""The words that ``convcourse.plots`` and ``convcourse.widgets`` write into figures, per language.

A figure drawn in the Chinese edition (its kernel sets ``CONVCOURSE_LANG=zh``) gets Chinese
titles, axis labels and legends; ``convcourse.fonts`` makes matplotlib draw them.  Names of
tensors (X, K, Y), formulas and numbers stay as they are.  Text that a lesson's own code cell
writes into a figure is code, shared by both editions, and stays English.
"""

from __future__ import annotations

__all__ = ["FIGURE_TEXT", "figure_text"]

FIGURE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "input": "input X",
        "kernel": "kernel K",
        "output_shape": "output Y ({o_h}x{o_w})",
        "sum_of_products": "sum of {n} products",
        "dense_unit": "dense: unit {unit} uses all {n} pixels",
        "local_unit": "local (Δ={delta}): {n} pixels",
        "input_column": "input column l",
        "input_row": "input row k",
        "all_weights": "all weights: {used} of {total} used",
        "input_pixel": "input pixel k·n_w + l",
        "hidden_unit": "hidden unit i·m_w + j",
        "weight_used": "weight used",
        "weight_zero": "weight fixed at 0",
        "output_corr": "output Y = corr2d(X, K), {shape}",
        "original": "original",
        "gallery_legend": "edge kernels (entries sum to 0): orange < 0, white = 0, purple > 0; "
        "others: grey",
        "step": "step",
        "loss_sse": "loss (sum of squared errors)",
    },
    "zh": {
        "input": "输入 X",
        "kernel": "卷积核 K",
        "output_shape": "输出 Y（{o_h}x{o_w}）",
        "sum_of_products": "{n} 个乘积之和",
        "dense_unit": "全连接：单元 {unit} 使用全部 {n} 个像素",
        "local_unit": "局部（Δ={delta}）：{n} 个像素",
        "input_column": "输入列 l",
        "input_row": "输入行 k",
        "all_weights": "全部权重：使用了 {total} 个中的 {used} 个",
        "input_pixel": "输入像素 k·n_w + l",
        "hidden_unit": "隐藏单元 i·m_w + j",
        "weight_used": "使用的权重",
        "weight_zero": "固定为 0 的权重",
        "output_corr": "输出 Y = corr2d(X, K)，{shape}",
        "original": "原图",
        "gallery_legend": "边缘卷积核（元素之和为 0）：橙色 < 0，白色 = 0，紫色 > 0；其他：灰度",
        "step": "步数",
        "loss_sse": "损失（误差平方和）",
    },
}


def figure_text(key: str, /, **params) -> str:
    """The figure text ``key`` in the checks' current language (``messages.language()``)."""
    from convcourse.checks.messages import language

    table = FIGURE_TEXT.get(language(), FIGURE_TEXT["en"])
    return table.get(key, FIGURE_TEXT["en"][key]).format(**params)
