"""The project's one exception type for sources that cannot be used."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable
from typing import Any


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


def call_with_deadline(
    call: Callable[[], Any], seconds: float, on_timeout: str, name: str = "source-call"
) -> Any:
    """``call()``'s result, or a SourceError ``on_timeout`` after ``seconds``.

    The call runs in a daemon thread: when it overruns (a library's own retries, a server
    that stops answering, a prompt waiting on a terminal) the caller stops waiting, and the
    stuck call can neither block it nor keep the process alive at exit. Exceptions raised by
    the call are re-raised in the caller's thread.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # handed over to the caller's thread below
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not done.wait(seconds):
        raise SourceError(on_timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
