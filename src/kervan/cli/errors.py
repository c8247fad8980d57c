"""How the command line reports an error a user can cause: one line on stderr, naming the
error's code, and the error's exit code (`KervanError.exit_code`, see kervan.errors); never a
traceback."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from kervan.errors import KervanError

P = ParamSpec("P")
R = TypeVar("R")


def exit_code_of(exc: KervanError) -> int:
    """The process exit code for `exc`: the one its class declares (2 bad input, 18 not found,
    13 a signature that does not hold, ...), the same for every command."""
    return exc.exit_code


def report(exc: KervanError) -> typer.Exit:
    """Print `exc` as one line on stderr; return the Exit carrying its exit code (to raise)."""
    # Rich is loaded when there is an error to print: rich.console is ~20 ms of every start
    # otherwise (-X importtime, cached bytecode; bench/cli_startup.py measures the starts).
    from rich.console import Console  # noqa: PLC0415

    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False
    )
    return typer.Exit(exit_code_of(exc))


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so a KervanError becomes one line on stderr and the error's exit code."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except KervanError as exc:
            raise report(exc) from None

    return run
