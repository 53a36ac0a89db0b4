"""Public tests of the example assignment ``tests/fixtures/grading/example.ipynb``.

A three-exercise notebook without torch, small enough to grade in a second: the grading tests and the
instructor guide in ``README.md`` use it.
"""
from tlcourse.grading.checks import exercise


@exercise("example.add", hint="Return a + b.")
def _(add):
    got = add(1, 2)
    assert got == 3, f"add(1, 2) should be 3, got {got!r}"


@exercise("example.norm", hint="The square root of the sum of the squares.")
def _(norm):
    got = norm([0.0, 2.0])
    assert isinstance(got, float), f"return a float, not {type(got).__name__}"
    assert abs(got - 2.0) < 1e-9, f"the norm of [0, 2] is 2.0, got {got}"


@exercise("example.mean", hint="numpy.mean, converted to a Python float.")
def _(mean):
    got = mean([1.0, 2.0, 6.0])
    assert isinstance(got, float), f"return a Python float, not {type(got).__name__}"
    assert abs(got - 3.0) < 1e-9, f"the mean of [1, 2, 6] is 3.0, got {got}"
