"""Public tests of the exercises, one module per lesson (``lesson01.py`` holds ids ``lesson01.*``)."""
