"""Public tests and observations of the example assignment ``tests/fixtures/grading/example.ipynb``.

A three-exercise notebook without torch, small enough to grade in a second: the grading tests and the
instructor guide in ``README.md`` use it.
"""
import random

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import tr


@exercise("example.add", hint="Return a + b.")
def _(add):
    got = add(1, 2)
    assert got == 3, tr("add(1, 2) should be 3, got {got!r}", got=got)


@exercise("example.norm", hint="The square root of the sum of the squares.")
def _(norm):
    got = norm([0.0, 2.0])
    assert isinstance(got, float), tr("return a float, not {type}", type=type(got).__name__)
    assert abs(got - 2.0) < 1e-9, tr("the norm of [0, 2] is 2.0, got {got}", got=got)


@exercise("example.mean", hint="numpy.mean, converted to a Python float.")
def _(mean):
    got = mean([1.0, 2.0, 6.0])
    assert isinstance(got, float), tr("return a Python float, not {type}", type=type(got).__name__)
    assert abs(got - 3.0) < 1e-9, tr("the mean of [1, 2, 6] is 3.0, got {got}", got=got)


# What the grader observes about each answer, on inputs drawn from the grading run's seed (observe.py).

@observe("example.add")
def _(seed, add):
    rng = random.Random(seed)
    a, b = rng.randint(-10**6, 10**6), rng.randint(-10**6, 10**6)
    x, y = rng.uniform(-100, 100), rng.uniform(-100, 100)
    return {"integers": add(a, b), "floats": add(x, y)}


@observe("example.norm")
def _(seed, norm):
    rng = random.Random(seed)
    v = [rng.uniform(-10, 10) for _ in range(rng.randint(2, 9))]
    got = norm(v)
    return {"random vector": got, "type": type(got).__name__, "zero": norm([0.0, 0.0])}


@observe("example.mean")
def _(seed, mean):
    rng = random.Random(seed)
    got = mean([rng.uniform(-50, 50) for _ in range(rng.randint(3, 12))])
    return {"random list": got, "type": type(got).__name__}
