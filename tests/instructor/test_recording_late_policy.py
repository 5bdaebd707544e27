"""The late-penalty policies: nbgrader's own (none, zero) and a percentage per started period.

Each policy is loaded from a traitlets Config the way nbgrader's ``AssignLatePenalties`` loads
it, so these are the numbers ``nbgrader autograde`` would store too.
"""

from __future__ import annotations

import pytest
from traitlets.config import Config

from convcourse.instructor.recording.late_policy import PercentPerPeriod, load_policy

PLUGIN = "convcourse.instructor.recording.late_policy.PercentPerPeriod"
HOUR, DAY = 3600, 86400


def _policy(**settings):
    config = Config()
    if settings.get("method"):
        config.LateSubmissionPlugin.penalty_method = settings.pop("method")
    if settings:
        config.AssignLatePenalties.plugin_class = PLUGIN
        for key, value in settings.items():
            setattr(config.PercentPerPeriod, key, value)
    return load_policy(config)


def test_no_setting_is_nbgraders_none_policy():
    policy = _policy()
    assert policy.penalty("alice", 8.0, 1) is None  # nbgrader stores None: no penalty
    assert policy.description.startswith("no penalty")


def test_zero_takes_the_whole_score():
    policy = _policy(method="zero")
    assert policy.penalty("alice", 8.0, 1) == 8.0
    assert policy.penalty("alice", 0.0, DAY) == 0.0
    assert policy.description == "a late submission scores 0"


@pytest.mark.parametrize(
    ("seconds_late", "expected"),
    [
        (1, 1.0),  # one second late: one started hour
        (HOUR, 1.0),  # exactly one hour: still one
        (HOUR + 1, 2.0),  # one hour and one second: two
        (3 * HOUR, 3.0),
        (5 * HOUR + 1, 5.0),  # six started hours = 60 %, capped at 50 %
        (30 * DAY, 5.0),
    ],
)
def test_percent_per_started_hour_with_a_cap(seconds_late, expected):
    policy = _policy(percent=10.0, period="hour", cap_percent=50.0)
    assert policy.penalty("alice", 10.0, seconds_late) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("seconds_late", "expected"),
    [(1, 0.75), (DAY, 0.75), (DAY + 1, 1.5), (4 * DAY, 3.0), (5 * DAY, 3.0)],
)
def test_percent_per_started_day_up_to_the_whole_score(seconds_late, expected):
    policy = _policy(percent=25.0, period="day")  # cap: the default 100 %
    assert policy.penalty("alice", 3.0, seconds_late) == pytest.approx(expected, abs=1e-9)
    assert policy.description == "25% of the score per started day late"


def test_penalties_are_rounded_not_float_noise():
    policy = _policy(percent=10.0, period="day")
    assert policy.penalty("alice", 3.0, 1) == 0.3  # not 0.30000000000000004
    assert repr(policy.penalty("alice", 3.0, DAY * 3 - 5)) == "0.9"


def test_nothing_is_taken_from_nothing_and_never_below_zero():
    policy = _policy(percent=10.0, period="hour")
    assert policy.penalty("alice", 0.0, DAY) == 0.0
    assert policy.penalty("alice", 4.0, 0) == 0.0


def test_described_for_the_summary_and_the_report():
    policy = _policy(percent=10.0, period="hour", cap_percent=50.0)
    assert policy.description == "10% of the score per started hour late, at most 50%"


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"percent": 120.0}, "percent must be between 0 and 100"),
        ({"cap_percent": -1.0}, "cap_percent must be between 0 and 100"),
        ({"period": "week"}, "period"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(settings, words):
    with pytest.raises(ValueError, match="late-penalty policy") as err:
        _policy(**settings)
    assert words in str(err.value)


def test_an_unimportable_plugin_class_is_refused():
    config = Config()
    config.AssignLatePenalties.plugin_class = "no_such_module.Plugin"
    with pytest.raises(ValueError, match="c.AssignLatePenalties.plugin_class"):
        load_policy(config)


def test_the_plugin_is_an_nbgrader_plugin_nbgrader_can_load_by_name():
    from nbgrader.preprocessors import AssignLatePenalties

    config = Config()
    config.AssignLatePenalties.plugin_class = PLUGIN
    config.PercentPerPeriod.percent = 20.0
    assigner = AssignLatePenalties(config=config)
    assigner.init_plugin()
    assert isinstance(assigner.plugin_inst, PercentPerPeriod)
    assert assigner.plugin_inst.late_submission_penalty("bob", 5.0, 1) == 1.0
