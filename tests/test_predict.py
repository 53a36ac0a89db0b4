"""Predict, then run: predictions are validated when made and compared when the run reveals the truth."""
import pytest

from tlcourse.predict import Question


def question():
    return Question("lesson04.sgd-rates", "Which wins?", {"a": "frozen", "b": "2:4:6"})


def test_a_prediction_is_validated_when_made(capsys):
    q = question()
    with pytest.raises(ValueError, match="'c' is not one of the options 'a', 'b'"):
        q.predict("c")
    q.predict("?")
    assert q.choice is None and "No prediction yet" in capsys.readouterr().out
    q.predict(" (B) ")
    assert q.choice == "b"


def test_reveal_compares_and_says_so(capsys):
    q = question()
    q.predict("a")
    assert q.reveal("a", because="the head dominates")
    assert "You predicted it." in capsys.readouterr().out
    assert not q.reveal("b")
    assert "You predicted (a) frozen" in capsys.readouterr().out
    with pytest.raises(ValueError):
        q.reveal("z")


def test_bad_questions_are_refused():
    with pytest.raises(ValueError, match="question id"):
        Question("sgd", "?", {"a": "x", "b": "y"})
    with pytest.raises(ValueError, match="two options"):
        Question("lesson04.x", "?", {"a": "x"})
