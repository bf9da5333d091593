"""The project's one exception type for sources that cannot be used."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SourceError(Exception):
    """A data source, catalog or request that cannot be used as given.

    The message is one line that names the source and says how to fix it. The app shows it
    as a notification and keeps serving; the CLI prints it and exits with status 2.
    """

    def __init__(self, message: str) -> None:
        # One line, always: tracebacks and multi-line library errors stay in the logs.
        super().__init__(" ".join(str(message).split()))


class ContractError(SourceError):
    """A dataset that does not honour the data contract (see ``validate_dataset``)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def short_reason(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, shortened, for use inside a SourceError."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
