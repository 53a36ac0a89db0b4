"""Message catalogs of ``tlcourse.i18n``: one module per language, ``MESSAGES`` maps English text to its translation."""
