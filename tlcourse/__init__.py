"""tlcourse: the helper package of a hands-on course on transfer learning.

Each module is one idea of the course, small enough to read during a lesson.
"""
__version__ = "0.1.0"
