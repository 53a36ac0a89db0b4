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
            raise ValueError(f"{self.id}: {choice!r} is not one of the options "
                             f"{', '.join(repr(k) for k in self.options)}")
        return key

    def predict(self, choice: object) -> None:
        """Record the learner's prediction; an unknown letter is refused with the valid ones."""
        if choice in UNSET:
            self.choice = None
            print(f"No prediction yet: write one of {', '.join(repr(k) for k in self.options)} "
                  f"before you run the experiment.")
            return
        self.choice = self._key(choice)
        print(f"Noted: you predict ({self.choice}) {self.options[self.choice]}")

    def reveal(self, truth: str, because: str = "") -> bool:
        """Print what the run showed beside the prediction; True when they agree."""
        truth = self._key(truth)
        right = self.choice == truth
        print(f"The run says ({truth}) {self.options[truth]}.")
        if self.choice is None:
            print("You made no prediction: next time commit to one first, it is what makes the result stick.")
        elif right:
            print("You predicted it.")
        else:
            print(f"You predicted ({self.choice}) {self.options[self.choice]}: worth a second look at why not.")
        if because:
            print(because)
        if self.choice is not None:
            progress.record(self.id, passed=right)
        return right
