"""Exceptions that name the file and the problem, so a user can act on them."""

from __future__ import annotations

from pathlib import Path


class IpadError(Exception):
    """Base class of the project's own errors (the CLI prints them without a traceback)."""


class DataError(IpadError):
    """Bad input data: `path` is the offending file or folder, `problem` what is wrong with it."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ValidationFailed(IpadError):
    """The data validation gate failed; `summary` is the human-readable list of failed checks."""

    def __init__(self, summary: str, report_path: str | None = None):
        self.summary = summary
        self.report_path = report_path
        tail = f"\nFull result: {report_path}" if report_path else ""
        super().__init__(f"data validation failed:\n{summary}{tail}")


class ConfigError(IpadError):
    """A setting in params.yaml (or a profile) is missing or has a wrong value."""
