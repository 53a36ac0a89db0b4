"""Test tiers. ``make check`` runs ``-m "not slow and not heavy and not browser"`` (seconds per test);
``make test`` runs everything. ``slow`` and ``browser`` are marked where the tests are written; ``heavy``
is given here to every test that needs one of the fixtures below, so their owners need not mark them."""
from __future__ import annotations

import pytest

#: Fixtures that grade a whole batch of submissions (kernels in sandboxes): tens of seconds each
#: (test_grading*.py: ``batch``; test_grading_isolation.py: ``run``).
HEAVY_FIXTURES = frozenset({"batch", "run"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "heavy: a grading round trip; left out of make check")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.heavy)
