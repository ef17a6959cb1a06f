"""Errors that name the problem and the fix.

Every error a user can cause (bad input, a missing warehouse, an unknown run) is an
``L2MError``; pipelines print its message and exit with status 2 instead of a traceback.
"""

from __future__ import annotations


class L2MError(Exception):
    """A problem the user can fix. ``str(err)`` says what is wrong and what to do."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  fix: {fix}")


class WarehouseError(L2MError):
    """The warehouse is missing, from another schema version, or lacks what a step needs."""


class InputError(L2MError):
    """Input data is malformed: missing columns, NaN or positive log-probs, empty tables..."""
