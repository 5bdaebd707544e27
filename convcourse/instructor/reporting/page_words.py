"""The words of a student's feedback page, in each edition's language.

A submission from the Chinese edition gets its page in Chinese (its check messages were already
written in Chinese while it was graded).  Keys are short English names; every language has every
key (tests/instructor/test_reporting_page_words.py checks that, and that the placeholders agree).
"""

from __future__ import annotations

from convcourse.editions import DEFAULT

__all__ = ["WORDS", "words", "duration"]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "html_lang": "en",
        "title": "Feedback on {aid} for {student}",
        "heading": "Feedback on {aid}",
        "student": "Student: {who}",
        "score": "Score",
        "score_value": "{score} out of {max}{percent}",
        "status": "Status",
        "late_penalty": "Late penalty",
        "late_penalty_value": "{points} (score before the penalty: {raw})",
        "graded": "Graded",
        "notebook": "Notebook {name}",
        "summary": "Summary",
        "submitted": "Submitted",
        "submitted_file_time": " (the time of the file you handed in; the course has no other "
        "record)",
        "due": "Due",
        "with_extension": " (with your extension)",
        "lateness": "Lateness",
        "late_by": "late by {duration}",
        "on_time": "on time",
        "no_penalty": " (no penalty)",
        "point": "{n} point",
        "points": "{n} points",
        "by_instructor": "Graded by your instructor",
        "waiting": "Waiting for grading by your instructor",
        "overridden": " (score set by your instructor)",
        "passed": "\u2713 Passed",
        "partly": "\u2717 Partly passed",
        "not_passed": "\u2717 Not passed",
        "not_run": "Not run",
        "written_answer": "{exercise} (written answer)",
        "col_exercise": "Exercise",
        "col_notebook": "Notebook",
        "col_points": "Points",
        "col_out_of": "Out of",
        "col_result": "Result",
        "points_heading": "Points for each exercise",
        "points_caption": "Points for each exercise of {aid}",
        "no_cells": "No graded cells were recorded for this submission.",
        "look_again": "What to look at again",
        "all_passed": "Every automatically graded exercise passed. Well done.",
        "no_results": "No exercise results are available, see the status above.",
        "misconception": "Likely misconception",
        "hint": "Hint",
        "read_again": "Read again",
        "found": "What the checker found",
        "tests_failed": "The tests of this cell failed.",
        "comments": "Comments from your instructor",
        "comments_caption": "Comments from your instructor, by cell",
        "col_cell": "Cell",
        "col_comment": "Comment",
        "status_graded": "Graded",
        "status_invalid": "Not graded: the notebook could not be read",
        "status_missing": "Not graded: no notebook was found in the submission",
        "status_timeout": "Stopped: the notebook ran past the time limit",
        "status_crashed": "Stopped: the notebook's kernel crashed",
        "status_memory": "Stopped: the notebook used more memory than allowed",
        "status_refused": "Not graded: the submission was refused",
        "status_unreadable": "Grading results could not be read; please ask your instructor",
    },
    "zh": {
        "html_lang": "zh-Hans",
        "title": "{aid} 的反馈（{student}）",
        "heading": "{aid} 的反馈",
        "student": "学生：{who}",
        "score": "得分",
        "score_value": "{score} / {max}{percent}",
        "status": "状态",
        "late_penalty": "迟交扣分",
        "late_penalty_value": "{points}（扣分前得分：{raw}）",
        "graded": "评分时间",
        "notebook": "笔记本 {name}",
        "summary": "概要",
        "submitted": "提交时间",
        "submitted_file_time": "（你提交的文件的时间；课程没有其他记录）",
        "due": "截止时间",
        "with_extension": "（含给你的延期）",
        "lateness": "是否迟交",
        "late_by": "迟交 {duration}",
        "on_time": "按时提交",
        "no_penalty": "（不扣分）",
        "point": "{n} 分",
        "points": "{n} 分",
        "by_instructor": "已由教师评分",
        "waiting": "等待教师评分",
        "overridden": "（分数由教师设定）",
        "passed": "\u2713 通过",
        "partly": "\u2717 部分通过",
        "not_passed": "\u2717 未通过",
        "not_run": "未运行",
        "written_answer": "{exercise}（书面回答）",
        "col_exercise": "练习",
        "col_notebook": "笔记本",
        "col_points": "得分",
        "col_out_of": "满分",
        "col_result": "结果",
        "points_heading": "各练习得分",
        "points_caption": "{aid} 各练习的得分",
        "no_cells": "这次提交没有记录到评分单元格。",
        "look_again": "需要再看一看的地方",
        "all_passed": "所有自动评分的练习都通过了，做得好！",
        "no_results": "没有练习结果，请看上面的状态。",
        "misconception": "可能的误解",
        "hint": "提示",
        "read_again": "重新阅读",
        "found": "检查发现的问题",
        "tests_failed": "这个单元格的测试没有通过。",
        "comments": "教师的评语",
        "comments_caption": "教师按单元格给出的评语",
        "col_cell": "单元格",
        "col_comment": "评语",
        "status_graded": "已评分",
        "status_invalid": "未评分：无法读取这个笔记本",
        "status_missing": "未评分：提交中没有找到笔记本",
        "status_timeout": "已停止：笔记本的运行超过了时间限制",
        "status_crashed": "已停止：笔记本的内核崩溃了",
        "status_memory": "已停止：笔记本使用的内存超过了限制",
        "status_refused": "未评分：提交被拒绝",
        "status_unreadable": "无法读取评分结果，请联系你的教师",
    },
}

# The units of recording.lateness.late_by_words, in each language.
_UNITS = {"zh": {"d": "天", "h": "小时", "min": "分钟", "s": "秒"}}


def words(lang: str) -> dict[str, str]:
    """The page words of ``lang``; English for a language the pages do not have."""
    return WORDS.get(lang, WORDS[DEFAULT])


def duration(english: str, lang: str) -> str:
    """``late_by_words``' ``1 d 2 h`` in ``lang`` (``1 天 2 小时``)."""
    units = _UNITS.get(lang)
    if not units:
        return english
    parts = english.split()
    return " ".join(units.get(p, p) for p in parts)
