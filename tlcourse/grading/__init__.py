"""Graded exercises: instant checks for learners, release and autograding for instructors."""
from tlcourse.grading.checks import CheckFailed, check, exercise

__all__ = ["CheckFailed", "check", "exercise"]
