"""Which characters no text may hold, and finding the first one (no pydantic: the command line
checks its arguments with this before it loads anything heavy)."""

from __future__ import annotations

import re
from typing import Final

#: Control characters no text may hold: C0 but tab/LF/CR, DEL, C1, and lone UTF-16
#: surrogates (no UTF-8 encoding exists for them), as a regular-expression class body.
CONTROL_CHARACTER: Final = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
#: Tab, line feed and carriage return: allowed in free text only.
LINE_BREAK: Final = "\\t\\n\\r"

_CONTROL: Final = re.compile(f"[{CONTROL_CHARACTER}]")
_CONTROL_OR_BREAK: Final = re.compile(f"[{CONTROL_CHARACTER}{LINE_BREAK}]")


def first_control(text: str, *, lines: bool) -> str | None:
    """The first refused character of `text` as U+XXXX, or None. `lines`: tab, line feed and
    carriage return are allowed (free text may hold lines)."""
    found = (_CONTROL if lines else _CONTROL_OR_BREAK).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


__all__ = ["CONTROL_CHARACTER", "LINE_BREAK", "first_control"]
