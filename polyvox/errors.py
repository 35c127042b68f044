"""User-facing errors: what was wrong and what to do, shown as one line by the CLI (never a traceback)."""

from __future__ import annotations


class PolyvoxError(Exception):
    """An error a user can act on.

    `message` says what is wrong, `hint` what to do about it. The CLI prints
    ``error: <message> (<hint>)`` and exits with `exit_code`.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class AudioInputError(PolyvoxError):
    """The input audio cannot be used (missing, unreadable, empty, silent, too long)."""

    exit_code = 2


class UsageError(PolyvoxError):
    """An option's value cannot be used (e.g. an invalid user id)."""

    exit_code = 2


class ModelError(PolyvoxError):
    """A model is missing, corrupt (sha256 mismatch) or cannot be loaded."""

    exit_code = 3


class MissingExtraError(PolyvoxError):
    """A feature needs an optional dependency group that is not installed."""

    exit_code = 4

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the Python package '{module}', which is not installed",
            f'run: pip install "polyvox[{extra}]"',
        )


def require(module: str, feature: str, extra: str):
    """Import `module` or raise MissingExtraError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(feature, extra, module) from e
