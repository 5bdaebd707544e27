"""The d2l functions the course uses work with the environment's (newer than pinned) libraries.

d2l 1.0.3 pins numpy 1.23.5 and matplotlib 3.7.2; the course installs current releases instead
(README, "Why a lock file").  These tests prove that what the lessons call still works, outside a
kernel (scripts, pytest), where the pinned matplotlib broke ``d2l.plot``.
"""

import matplotlib.pyplot as plt
import torch
from d2l import torch as d2l


def test_try_gpu_returns_a_usable_device():
    device = d2l.try_gpu()
    assert isinstance(device, torch.device)
    assert torch.ones(2, device=device).sum().item() == 2.0
    if not torch.cuda.is_available():
        assert device == torch.device("cpu")


def test_corr2d_is_the_textbook_one():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert torch.equal(d2l.corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


def test_plot_draws_lines_outside_a_kernel():
    x = torch.arange(0, 3, 0.1)
    d2l.plot(x, [x**2, 2 * x], "x", "f(x)", legend=["f", "g"])
    ax = plt.gca()
    assert len(ax.get_lines()) == 2
    assert ax.get_xlabel() == "x"
    plt.close("all")


def test_animator_records_and_draws_points():
    animator = d2l.Animator(xlabel="epoch", ylabel="loss", xlim=[1, 3], legend=["train"])
    for epoch in range(1, 4):
        animator.add(epoch, 1.0 / epoch)
    lines = animator.axes[0].get_lines()
    assert len(lines) == 1
    assert list(lines[0].get_xdata()) == [1, 2, 3]
    plt.close("all")


def test_timer_measures_elapsed_time():
    timer = d2l.Timer()
    sum(range(10_000))
    elapsed = timer.stop()
    assert elapsed >= 0 and timer.sum() == elapsed and len(timer.times) == 1


def test_the_shipped_names_of_the_rules_are_d2ls():
    """The rule "shipped" names d2l's implementations; they exist in the installed d2l, and
    d2l's own subclasses of Trainer are all listed."""
    import inspect

    from convcourse.checks import rules

    for name in rules.D2L_SHIPPED_NAMES:
        assert hasattr(d2l, name), name
    assert any(n.startswith(rules.D2L_SHIPPED_PREFIXES) for n in dir(d2l))
    trainers = {
        name
        for name, value in vars(d2l).items()
        if inspect.isclass(value) and issubclass(value, d2l.Trainer) and value is not d2l.Trainer
    }
    assert trainers == set(rules.D2L_TRAINER_SUBCLASSES)
    assert rules.is_d2l_shipped(d2l.SGD.step.__qualname__)
    assert rules.is_d2l_shipped(d2l.Trainer.fit.__qualname__)
    assert not rules.is_d2l_shipped(d2l.Timer.stop.__qualname__)
