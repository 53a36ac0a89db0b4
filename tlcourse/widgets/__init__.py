"""Interactive widgets of the course (ipywidgets). Each is testable without a browser:
set the controls' ``.value``, call ``button.click()``, and read the ``Output``."""
