"""Errors a user can act on: the CLI prints them as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment, with a message that names what to fix."""


def located(path: str, line: int | None = None, field: str | None = None) -> str:
    """Format a location as `file:line: field` for error messages."""
    where = path if line is None else f"{path}:{line}"
    return f"{where}: {field}" if field else where
