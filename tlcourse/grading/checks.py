"""Instant checks for exercises.

A lesson's public tests are plain functions registered under an exercise id::

    @exercise("dann.grl", hint="The backward pass multiplies the gradient by -lambda.")
    def _(grad_reverse):
        y = grad_reverse(torch.ones(3, requires_grad=True), 0.5)
        assert y.shape == (3,), f"the output should keep the input's shape (3,), got {tuple(y.shape)}"

and a learner calls ``check("dann.grl", grad_reverse)`` in the notebook. A failed assertion is
shown as one short sentence (no traceback) and still raises, so nbgrader scores the cell as failed.
``tlcourse grade`` does not run these tests: beside each one, an ``@observe`` function
(``observe.py``) says what the grader measures about the answer, and the grader judges that data in
its own process.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from tlcourse import progress
from tlcourse.i18n import tr

_REGISTRY: dict[str, "Exercise"] = {}
# Where the public tests of an id's first part live, when not in tlcourse/exercises/<part>.py.
_HOMES = {"example": "tlcourse.grading.example"}


@dataclass(frozen=True)
class Exercise:
    id: str
    test: Callable[..., Any]
    hint: str = ""


class CheckFailed(AssertionError):
    """A public test failed; IPython shows only the message, not a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython hook: replaces the traceback display
        return [f"\u274c {self}"]


def exercise(exercise_id: str, hint: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``test`` as the public test of ``exercise_id`` (used as a decorator)."""
    def register(test: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[exercise_id] = Exercise(exercise_id, test, hint)
        return test
    return register


def import_home(exercise_id: str) -> None:
    """Import the module that registers ``exercise_id``'s public test and observation (``lessonNN.x``:
    ``tlcourse/exercises/lessonNN.py``)."""
    part = exercise_id.split(".", 1)[0]
    module = _HOMES.get(part, f"tlcourse.exercises.{part}")
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:  # the lesson's module exists but one of its imports is missing
            raise


def _lookup(exercise_id: str) -> Exercise:
    if exercise_id not in _REGISTRY:
        import_home(exercise_id)
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none loaded"
        raise KeyError(f"unknown exercise {exercise_id!r} (known: {known})")
    return _REGISTRY[exercise_id]


def hint_of(exercise_id: str) -> str:
    """The public hint of ``exercise_id`` ("" if it has none)."""
    return _lookup(exercise_id).hint


def check(exercise_id: str, *answer: Any) -> bool:
    """Run the public tests of ``exercise_id`` on the learner's ``answer``; say what is wrong in words."""
    ex = _lookup(exercise_id)
    try:
        ex.test(*answer)
    except NotImplementedError:
        raise CheckFailed(tr("{id}: not done yet - replace `raise NotImplementedError()` with your code.",
                             id=exercise_id)) from None
    except AssertionError as err:
        hint = "\n   " + tr("Hint: {hint}", hint=tr(ex.hint)) if ex.hint else ""
        raise CheckFailed(tr("{id}: {message}", id=exercise_id, message=err) + hint
                          + progress.record(exercise_id, passed=False)) from None
    except Exception as err:  # the learner's code crashed inside the test
        raise CheckFailed(tr("{id}: your code raised {error}", id=exercise_id,
                             error=f"{type(err).__name__}: {err}")
                          + progress.record(exercise_id, passed=False)) from None
    progress.record(exercise_id, passed=True)  # in a learner's workspace only: see tlcourse/progress.py
    print("\u2705 " + tr("{id}: all public checks passed.", id=exercise_id))
    return True
