"""Settings of the course tests (lessons, student release, nbval, nbgrader round trip)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: executes notebooks or runs nbgrader (tens of seconds each)"
    )
