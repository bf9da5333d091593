"""The one exception type for sources that cannot be used, and where other errors become it.

:class:`SourceError` is the project's own exception for a source, catalog or request that
cannot be used as given.

Reads of a lazy dataset happen long after it was opened (a map frame, a point series), in
dask's threads, and may fail with whatever the libraries below raise: aiohttp and requests
errors, ``TimeoutError``, ``OSError``, netCDF-C's ``RuntimeError`` for OPeNDAP.
:func:`classify` says what happened in a user's words (:class:`Failure`) and whether trying
again may help; :func:`as_source_error` turns any of them into a one-line
:class:`SourceError`, so components catch :func:`read_errors` at their data-read points and
show the message.
"""

from __future__ import annotations

import difflib
import email.utils
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


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


def check_known_keys(
    keys: Iterable[str], allowed: Sequence[str], where: str, prefix: str = ""
) -> None:
    """Refuse the first of ``keys`` not in ``allowed``: ``"<where>: unknown key '<prefix><key>'
    (did you mean 'x'?); allowed: a, b"`` (a catalog's typo, named where it is)."""
    for key in keys:
        if key not in allowed:
            raise SourceError(
                f"{where}: unknown key '{prefix}{key}'{did_you_mean(key, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )


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


# -- what went wrong with a remote read ------------------------------------------------------
#: What to do about a server that is slow or unreachable, in every timeout message.
_SLOW_FIX = (
    "the server may be down or overloaded: try again later, or raise 'timeout' "
    "(or OCEAN_EXPLORER_TIMEOUT) for slow servers"
)
_LATER_FIX = "the server may be overloaded or restarting: try again later"


@dataclass(frozen=True)
class Failure:
    """Why one remote request failed, in a user's words, and whether trying again may help.

    Attributes
    ----------
    reason
        A short token for logs (``http_503``, ``timeout``, ``refused``, ``truncated``...).
    what
        What happened, for the message ("the server answered HTTP 503 (server error)").
    fix
        What the user can do.
    retriable
        True when sending the same request again is safe and may succeed (a 5xx, a 429, a
        reset or refused connection, a cut-short answer); never for other 4xx, timeouts or
        answers that are not data.
    retry_after
        Seconds the server asked to wait (``Retry-After``), when it said.
    """

    reason: str
    what: str
    fix: str
    retriable: bool = False
    retry_after: float | None = None

    def message(self, label: str, where: str = "", tries: int = 1) -> str:
        """The one-line message: ``LABEL: [WHERE: ]WHAT[ (N tries)]; FIX`` (any password in
        a URL replaced by ``***``)."""
        at = f"{where}: " if where else ""
        tried = f" ({tries} tries)" if tries > 1 else ""
        return scrub_passwords(f"{label}: {at}{self.what}{tried}; {self.fix}")


def failure_for_status(status: int, headers: Mapping[str, str] | None = None) -> Failure:
    """The :class:`Failure` of an HTTP error status (``headers`` for ``Retry-After``)."""
    retry_after = retry_after_seconds((headers or {}).get("Retry-After"))
    if status in (401, 403):
        return Failure(
            f"http_{status}",
            f"the server answered HTTP {status} (access denied)",
            "check the credentials and that the data are shared with you",
        )
    if status == 404:
        return Failure("http_404", "the server answered HTTP 404 (not found)", "check the URL")
    if status == 429:
        return Failure(
            "http_429",
            "the server answered HTTP 429 (too many requests)",
            "it limits how often it may be asked: try again later",
            retriable=True,
            retry_after=retry_after,
        )
    if status >= 500:
        return Failure(
            f"http_{status}",
            f"the server answered HTTP {status} (server error)",
            _LATER_FIX,
            retriable=True,
            retry_after=retry_after,
        )
    return Failure(f"http_{status}", f"the server answered HTTP {status}", "check the URL")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def timeout_failure(seconds: float, what: str = "") -> Failure:
    """A request that got no complete answer within ``seconds`` (never retried: a server
    that does not answer in time is most often overloaded, and asking again makes the user
    wait twice as long for the same message)."""
    return Failure("timeout", what or f"timed out after {seconds:g} s", _SLOW_FIX)


HTML_PAGE = Failure(
    "html",
    "the server sent an HTML page instead of data (an error or login page)",
    "check the URL and that the data are shared with you; if it works in a browser, try later",
)


def looks_like_html(data: bytes) -> bool:
    """True when ``data`` starts like an HTML page (what portals and proxies send on errors)."""
    head = data[:64].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


#: netCDF-C's words for DAP failures (OPeNDAP reads) -> what happened. The HTTP status is not
#: passed up by netCDF-C, only its class; "I/O failure" is a refused connection or a timeout.
_DAP_ERRORS = {
    "DAP server error": failure_for_status(500),
    "Authorization failure": failure_for_status(403),
    "Access failure": Failure(
        "http_4xx", "the server refused the request (an HTTP 4xx error)", "check the URL"
    ),
    "Malformed or inaccessible DAP": Failure(
        "bad_answer",
        "the server sent something that is not OPeNDAP data (an HTML page or a broken answer)",
        "check that the URL is an OPeNDAP endpoint; if it opened before, try later",
    ),
    "I/O failure": Failure(
        "unreachable",
        "the server could not be reached (connection refused or reset)",
        "check the URL and network, or try again later",
        retriable=True,
    ),
}
_TRUNCATED = Failure(
    "truncated",
    "the response was cut short (the connection closed before all the data arrived)",
    "the server or a proxy dropped the connection: try again later",
    retriable=True,
)
_REFUSED = Failure(
    "refused",
    "cannot connect (connection refused: nothing listens at that host and port)",
    "check the URL and network",
    retriable=True,  # nothing was sent: safe, and a restarting server may be back
)
_RESET = Failure(
    "reset",
    "the server closed the connection without answering",
    _LATER_FIX,
    retriable=True,
)
_UNKNOWN_HOST = Failure("unknown_host", "cannot connect (unknown host name)", "check the URL")


def classify(exc: BaseException, timeout: float | None = None) -> Failure:
    """What ``exc``, raised by a remote read, means (see :class:`Failure`).

    ``timeout`` is the limit the read had, for the message of a timeout.
    """
    aiohttp = sys.modules.get("aiohttp")  # only its own errors can come from it
    requests = sys.modules.get("requests")
    text = str(exc)
    if aiohttp is not None and isinstance(exc, aiohttp.ClientResponseError):
        return failure_for_status(exc.status, exc.headers)
    if requests is not None and isinstance(exc, requests.HTTPError) and exc.response is not None:
        return failure_for_status(exc.response.status_code, exc.response.headers)
    if isinstance(exc, TimeoutError) or (
        requests is not None and isinstance(exc, requests.Timeout)
    ):
        return timeout_failure(timeout) if timeout else timeout_failure(0, "timed out")
    if aiohttp is not None and isinstance(exc, aiohttp.ClientPayloadError):
        return _TRUNCATED
    if requests is not None and isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _TRUNCATED
    lowered = text.lower()
    if _caused_by(exc, ConnectionRefusedError):
        return _REFUSED  # aiohttp keeps the OS error beside its own message
    if "incompleteread" in lowered or "not completed" in lowered:
        return _TRUNCATED  # urllib3's and aiohttp's words for a body shorter than announced
    if isinstance(exc, ConnectionRefusedError) or "refused" in lowered:
        return _REFUSED
    if "name or service not known" in lowered or "getaddrinfo" in lowered:
        return _UNKNOWN_HOST
    connection_errors: tuple[type[BaseException], ...] = (ConnectionError,)
    if aiohttp is not None:
        connection_errors += (aiohttp.ClientConnectionError,)
    if requests is not None:
        connection_errors += (requests.ConnectionError,)
    if isinstance(exc, connection_errors) or "reset" in lowered or "disconnect" in lowered:
        return _RESET
    for words, failure in _DAP_ERRORS.items():
        if words in text:
            return failure
    if isinstance(exc, IndexError) and "exceeds dimension bounds" in text:
        return _TRUNCATED  # netCDF-C decoding a DAP answer shorter than announced
    if isinstance(exc, RuntimeError) and "decompression" in lowered:
        return Failure(
            "undecodable",
            "a chunk could not be decoded (the server sent something else, or it is damaged)",
            "check the URL; if it opened before, try later",
        )
    return Failure(
        "read_error", f"cannot be read ({short_reason(exc)})", "check the source and try again"
    )


def _caused_by(exc: BaseException, kind: type[BaseException], depth: int = 5) -> bool:
    """True when ``exc`` is a ``kind``, or was caused by one (a few links down)."""
    seen: BaseException | None = exc
    for _ in range(depth):
        if seen is None:
            return False
        if isinstance(seen, kind) or isinstance(getattr(seen, "os_error", None), kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def read_errors() -> tuple[type[BaseException], ...]:
    """The exception types a lazy read of a source may raise (for ``except read_errors():``
    at a component's data-read point); convert them with :func:`as_source_error`.

    Programming errors (``TypeError``, ``AttributeError``...) are not among them: they must
    surface as bugs, not as a message about the data.
    """
    types: tuple[type[BaseException], ...] = (
        SourceError,
        OSError,  # TimeoutError, ConnectionError, netCDF-C open errors
        RuntimeError,  # netCDF-C read errors, codec errors
        IndexError,  # netCDF-C decoding a cut-short DAP answer
    )
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        types += (aiohttp.ClientError,)
    requests = sys.modules.get("requests")
    if requests is not None:
        types += (requests.RequestException,)
    return types


def as_source_error(exc: BaseException, label: str, where: str = "") -> SourceError:
    """``exc`` from a read of source ``label`` as a one-line :class:`SourceError`.

    A SourceError is returned as it is (the adapters' own already name the source and say
    what to do); anything else is classified (:func:`classify`) and logged once as
    ``event=source_error``. ``where`` says what was being read (``"reading 'thetao'"``).
    """
    if isinstance(exc, SourceError):
        return exc
    failure = classify(exc)
    error = SourceError(failure.message(label, where))
    error.__cause__ = exc
    log.warning(
        "event=source_error source=%s where=%s reason=%s error=%s",
        log_field(label),
        log_field(where),
        failure.reason,
        log_field(type(exc).__name__),
    )
    return error


#: The password part of ``scheme://user:password@host`` in any text.
_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]*@", re.I)


def scrub_passwords(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***@", text)


def log_field(value: object) -> str:
    """``value`` as the value of one key=value field of a log line: quoted when it holds
    spaces or quotes, passwords in URLs replaced by ``***``."""
    text = scrub_passwords(str(value))
    if not text or any(c in text for c in ' \t"='):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text
