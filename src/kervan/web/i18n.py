"""Languages of the web pages: message catalogues, the choice of language, numbers and dates.

Catalogues are JSON files in `messages/` (one per language, the same keys in each; English is the
fallback for a missing key). A catalogue's `_format` entry says how numbers and dates are written:
decimal mark, digit group separator, month names and the date pattern, so 1234.5 reads
"1,234.5" in English, "1.234,5" in Turkish and "1 234,5" in Russian.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "tr", "ru")
DEFAULT_LANGUAGE = "en"
COOKIE = "kervan_lang"


@dataclass(frozen=True)
class Locale:
    """One language's messages and its way of writing numbers and dates."""

    code: str
    name: str
    messages: dict[str, str]
    fallback: dict[str, str]
    decimal: str
    group: str
    months: tuple[str, ...]
    date_pattern: str

    def t(self, key: str, **values: object) -> str:
        """The message `key` with `{name}` placeholders filled from `values`."""
        text = self.messages.get(key) or self.fallback.get(key) or key
        return text.format(**values) if values else text

    def label(self, prefix: str, value: str) -> str:
        """The message `prefix + value` if the catalogue has it, else `value` made readable
        (states and codes the catalogue does not name yet still read as words)."""
        key = prefix + value
        text = self.messages.get(key) or self.fallback.get(key)
        return text if text else value.replace("_", " ")

    def number(self, value: float, digits: int = 0) -> str:
        """`value` rounded to `digits` decimals, with this language's separators."""
        body = f"{abs(value):,.{digits}f}"
        whole, _, fraction = body.partition(".")
        text = whole.replace(",", self.group)
        if fraction:
            text += self.decimal + fraction
        negative = value < 0 and any(ch not in "0.," for ch in body)
        return ("-" if negative else "") + text

    def money(self, usd: float) -> str:
        """An amount of US dollars, whole dollars."""
        return self.t("unit.usd", amount=self.number(usd))

    def date(self, day: date) -> str:
        """A calendar date written out ("5 March 2026", "5 Mart 2026", "5 марта 2026 г.")."""
        return self.date_pattern.format(
            day=day.day, month=self.months[day.month - 1], year=day.year
        )


@cache
def locale(code: str) -> Locale:
    """The locale for a supported language code (unknown codes get the default language)."""
    code = code if code in LANGUAGES else DEFAULT_LANGUAGE
    catalogue = _catalogue(code)
    fallback = _catalogue(DEFAULT_LANGUAGE)
    fmt: dict[str, Any] = catalogue["_format"]
    return Locale(
        code=code,
        name=str(fmt["name"]),
        messages={k: str(v) for k, v in catalogue.items() if not k.startswith("_")},
        fallback={k: str(v) for k, v in fallback.items() if not k.startswith("_")},
        decimal=str(fmt["decimal"]),
        group=str(fmt["group"]),
        months=tuple(str(m) for m in fmt["months"]),
        date_pattern=str(fmt["date"]),
    )


def _catalogue(code: str) -> dict[str, Any]:
    text = resources.files("kervan.web").joinpath("messages", f"{code}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The language kept in the cookie, else the first supported one the browser asks for."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE
