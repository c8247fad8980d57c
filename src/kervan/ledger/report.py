"""Verification reports: every check by name with ok or failed and the reason, never a bare bool."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """One named check: `ok`, and a `detail` saying what was found (or why it failed)."""

    name: str
    ok: bool
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class VerificationReport:
    """What was verified about `subject`, check by check, in the order they ran."""

    subject: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when there was at least one check and every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]

    def check(self, name: str) -> Check:
        """Return the check called `name`; raise KeyError if no such check ran."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def summary(self) -> str:
        """Return one line per check ("ok" or "FAILED", name, detail) under a verdict line."""
        verdict = "VERIFIED" if self.ok else f"NOT VERIFIED ({len(self.failures)} failed)"
        lines = [f"{self.subject}: {verdict}"]
        lines += [f"  {'ok    ' if c.ok else 'FAILED'} {c.name}: {c.detail}" for c in self.checks]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Return {subject, ok, checks: [{name, ok, detail}, ...]}."""
        return {
            "subject": self.subject,
            "ok": self.ok,
            "checks": [dataclasses.asdict(check) for check in self.checks],
        }
