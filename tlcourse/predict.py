"""Predict, then run: the learner commits to an answer before the experiment shows the truth.

A lesson asks a question with a few lettered options, the learner writes their letter in a cell, the
next cell runs the experiment and :meth:`Question.reveal` compares. A prediction earns no points (the
truth is on the screen a cell later); it makes the result a surprise or a confirmation, which is what
makes it stick. In a learner's workspace the outcome is kept beside their checks.

    q = Question("lesson04.sgd-rates", "Under plain SGD, ...?", {"a": "...", "b": "..."})
    q.ask()                      # prints the question and its options
    q.predict("b")               # the learner's cell: validated now, before anything runs
    ...                          # the experiment
    q.reveal("a", because="...") # prints both and the reason, computed from the run
"""
from __future__ import annotations

import re

from tlcourse import progress
from tlcourse.i18n import tr

UNSET = (None, "", "?")


class Question:
    """A multiple-choice question whose answer the lesson's next experiment computes."""

    def __init__(self, qid: str, prompt: str, options: dict[str, str]):
        if not re.fullmatch(r"lesson\d\d\.[a-z0-9-]+", qid):
            raise ValueError(f"a question id looks like 'lesson04.sgd-rates', not {qid!r}")
        if len(options) < 2:
            raise ValueError("a question needs at least two options")
        self.id, self.prompt, self.options = qid, prompt, dict(options)
        self.choice: str | None = None

    def ask(self) -> None:
        print(self.prompt)
        for key, text in self.options.items():
            print(f"  ({key}) {text}")

    def _key(self, choice: object) -> str:
        key = str(choice).strip().lower().strip("()")
        if key not in self.options:
            raise ValueError(tr("{id}: {choice} is not one of the options {options}", id=self.id,
                                choice=repr(choice), options=", ".join(repr(k) for k in self.options)))
        return key

    def predict(self, choice: object) -> None:
        """Record the learner's prediction; an unknown letter is refused with the valid ones."""
        if choice in UNSET:
            self.choice = None
            print(tr("No prediction yet: write one of {options} before you run the experiment.",
                     options=", ".join(repr(k) for k in self.options)))
            return
        self.choice = self._key(choice)
        print(tr("Noted: you predict ({key}) {text}", key=self.choice, text=self.options[self.choice]))

    def reveal(self, truth: str, because: str = "") -> bool:
        """Print what the run showed beside the prediction; True when they agree."""
        truth = self._key(truth)
        right = self.choice == truth
        print(tr("The run says ({key}) {text}.", key=truth, text=self.options[truth]))
        if self.choice is None:
            print(tr("You made no prediction: next time commit to one first, it is what makes the result stick."))
        elif right:
            print(tr("You predicted it."))
        else:
            print(tr("You predicted ({key}) {text}: worth a second look at why not.", key=self.choice,
                     text=self.options[self.choice]))
        if because:
            print(because)
        if self.choice is not None:
            progress.record(self.id, passed=right)
        return right
