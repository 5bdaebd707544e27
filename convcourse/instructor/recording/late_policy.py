"""Late-submission penalty policies, through nbgrader's ``LateSubmissionPlugin`` interface.

nbgrader asks a plugin for each late notebook: ``late_submission_penalty(student_id, score,
total_seconds_late)`` returns the points to take off (or None), and keeps the answer between 0
and the notebook's score (``nbgrader/preprocessors/latesubmissions.py``).  The policy is chosen
with nbgrader's own settings in ``nbgrader_config.py``:

- nothing set, or ``c.LateSubmissionPlugin.penalty_method = 'none'``: no penalty;
- ``c.LateSubmissionPlugin.penalty_method = 'zero'``: a late notebook scores 0;
- ``c.AssignLatePenalties.plugin_class`` set to this module's ``PercentPerPeriod``
  (``"convcourse.instructor.recording.late_policy.PercentPerPeriod"``), with
  ``c.PercentPerPeriod.percent``, ``.period`` and ``.cap_percent``: a percentage of the score
  per started hour or day late, at most ``cap_percent``.

``load_policy`` builds the plugin exactly as nbgrader's ``AssignLatePenalties`` does, so
``convcourse autograde`` and ``nbgrader autograde`` apply the same policy to the same course.
This module imports nothing heavy: nbgrader imports it by name from the configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nbgrader.plugins import BasePlugin, LateSubmissionPlugin
from traitlets import Enum, Float, TraitError, validate

__all__ = ["PERIOD_SECONDS", "LatePolicy", "PercentPerPeriod", "load_policy"]

PERIOD_SECONDS = {"hour": 3600, "day": 86400}


class PercentPerPeriod(BasePlugin):
    """``percent`` of the notebook's score per started ``period`` late, at most ``cap_percent``.

    "Started": one second late is one period, exactly one period late is one period, one
    period and one second is two.
    """

    percent = Float(
        10.0, help="Percentage of the notebook's score taken off per started period late."
    ).tag(config=True)
    period = Enum(
        tuple(PERIOD_SECONDS), default_value="day", help="The period: 'hour' or 'day'."
    ).tag(config=True)
    cap_percent = Float(
        100.0, help="The most that is ever taken off, as a percentage of the score."
    ).tag(config=True)

    @validate("percent", "cap_percent")
    def _percentage(self, proposal):
        value = proposal["value"]
        if not 0 <= value <= 100 or math.isnan(value):
            raise TraitError(f"{proposal['trait'].name} must be between 0 and 100, got {value}")
        return value

    def periods_late(self, total_seconds_late: float) -> int:
        if total_seconds_late <= 0:
            return 0
        return math.ceil(total_seconds_late / PERIOD_SECONDS[self.period])

    def rate_percent(self, total_seconds_late: float) -> float:
        """The percentage taken off for this lateness (the cap applied)."""
        return min(self.cap_percent, self.percent * self.periods_late(total_seconds_late))

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        if total_seconds_late <= 0 or not score or score < 0:
            return 0.0
        # Rounded so that 10 % of 3 points is 0.3, not 0.30000000000000004, in every export.
        return round(score * self.rate_percent(total_seconds_late) / 100.0, 6)

    def describe(self) -> str:
        cap = f", at most {self.cap_percent:g}%" if self.cap_percent < 100 else ""
        return f"{self.percent:g}% of the score per started {self.period} late{cap}"


@dataclass
class LatePolicy:
    """The configured plugin, and what it does in words."""

    plugin: BasePlugin
    description: str

    def penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        """The plugin's penalty for a late notebook, kept between 0 and the score as nbgrader's
        ``AssignLatePenalties._check_late_penalty`` keeps it; None: no penalty assigned."""
        penalty = self.plugin.late_submission_penalty(student_id, score, total_seconds_late)
        if penalty is None:
            return None
        score = score or 0.0
        return min(max(0.0, float(penalty)), max(0.0, score))


def load_policy(config) -> LatePolicy:
    """The penalty plugin of a course's nbgrader configuration (a traitlets ``Config``).

    Raises ValueError naming the setting when the plugin cannot be loaded or is misconfigured.
    """
    from nbgrader.preprocessors import AssignLatePenalties

    try:
        assigner = AssignLatePenalties(config=config)
        assigner.init_plugin()
    except (TraitError, ImportError, ValueError, TypeError) as exc:
        raise ValueError(
            f"the late-penalty policy in nbgrader_config.py cannot be used "
            f"(c.AssignLatePenalties.plugin_class and its settings): {exc}"
        ) from None
    plugin = assigner.plugin_inst
    return LatePolicy(plugin, _describe(plugin))


def _describe(plugin: BasePlugin) -> str:
    if isinstance(plugin, PercentPerPeriod):
        return plugin.describe()
    if type(plugin) is LateSubmissionPlugin:
        if plugin.penalty_method == "zero":
            return "a late submission scores 0"
        return "no penalty (late submissions are only marked late)"
    kind = type(plugin)
    return f"computed by {kind.__module__}.{kind.__qualname__}"
