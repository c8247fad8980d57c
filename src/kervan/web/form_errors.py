"""What a form's refusal says, field by field, in the reader's language.

pydantic names each refusal by a stable type (`string_too_long`, `container_check_digit`,
`gross_mass_over_limit` ...) with the values that explain it; the message catalogues carry one
sentence per type under `invalid.<type>` with those values as placeholders. A type the
catalogue does not know yet reads as the generic `invalid.value`, never as pydantic's English.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kervan.web.i18n import Locale

Location = tuple[int | str, ...]


@dataclass(frozen=True)
class FieldProblem:
    """One refusal: the form field it belongs to ('' for the form as a whole), the catalogue
    key of its sentence and the values that fill the sentence in."""

    name: str
    key: str
    values: dict[str, str] = field(default_factory=dict)

    def message(self, loc: Locale) -> str:
        """The sentence in `loc`'s language (the generic one for a type not yet translated)."""
        key = self.key if self.key in loc.fallback else "invalid.value"
        try:
            return loc.t(key, **self.values)
        except (KeyError, IndexError, ValueError):
            return loc.t("invalid.value")


def problems_of(exc: ValidationError, field_of: Callable[[Location], str]) -> list[FieldProblem]:
    """Each refusal in `exc` on the form field `field_of` gives its location."""
    found: list[FieldProblem] = []
    for error in exc.errors():
        context: dict[str, Any] = dict(error.get("ctx") or {})
        values = {k: str(v) for k, v in context.items() if k != "error"}
        found.append(
            FieldProblem(field_of(tuple(error["loc"])), f"invalid.{error['type']}", values)
        )
    return found


@dataclass
class FormProblems:
    """The refusals a form shows, each next to its field; the general ones above the form."""

    problems: list[FieldProblem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def on(self, name: str) -> list[FieldProblem]:
        """The refusals shown next to field `name`."""
        return [p for p in self.problems if p.name == name]

    def fields(self) -> Sequence[str]:
        """The fields with a refusal, in order (for the summary's links)."""
        return list(dict.fromkeys(p.name for p in self.problems if p.name))

    def general(self) -> list[FieldProblem]:
        """The refusals that belong to no one field."""
        return self.on("")


__all__ = ["FieldProblem", "FormProblems", "Location", "problems_of"]
