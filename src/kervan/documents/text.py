"""Text the corridor's records may hold: no control characters, and one line where one is meant.

A control character (C0, DEL, C1) in a name, a number or a reference is never meant: it is a
copy-paste accident or an attack (PostgreSQL refuses NUL in text). Free text, such as a reason
or the marks on packages, may run over lines: tab, line feed and carriage return are allowed
there and nowhere else. The patterns below are what the API's JSON Schema says and what pydantic
checks, so the document and the code refuse the same strings.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from kervan.documents.control_characters import CONTROL_CHARACTER, LINE_BREAK, first_control

# The JSON Schema patterns (pydantic's regular expressions know no surrogates: a str that holds
# one never reaches them, the API's guard refuses it first).
_NOT_LINE: Final = "\\x00-\\x1f\\x7f-\\x9f"
LINE_PATTERN: Final = f"^[^{_NOT_LINE}]*$"
NON_BLANK_LINE_PATTERN: Final = f"^[^{_NOT_LINE}]*[^\\s{_NOT_LINE}][^{_NOT_LINE}]*$"
FREE_TEXT_PATTERN: Final = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"

Line = Annotated[str, Field(pattern=LINE_PATTERN)]
"""One line of text: no control characters, no line breaks or tabs."""

NonBlankLine = Annotated[str, Field(pattern=NON_BLANK_LINE_PATTERN)]
"""One line of text with at least one visible character."""

FreeText = Annotated[str, Field(pattern=FREE_TEXT_PATTERN)]
"""Text that may run over lines (tab, line feed, carriage return) but holds no other control
characters."""

__all__ = [
    "CONTROL_CHARACTER",
    "FREE_TEXT_PATTERN",
    "LINE_BREAK",
    "LINE_PATTERN",
    "NON_BLANK_LINE_PATTERN",
    "FreeText",
    "Line",
    "NonBlankLine",
    "first_control",
]
