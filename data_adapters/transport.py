"""HTTP transport of every remote source: bounded requests, retries, one-line failures.

Every request to a remote source, when it is opened and when a chunk is read later by dask
(a map frame, a point series), follows one policy:

- **Bounded time.** Each request gets the adapter's ``timeout`` (seconds) for the whole
  answer, first byte to last: a server that stalls, or trickles its answer, ends in a
  timeout, never in a hang. Timeouts are *not* retried: a server that does not answer in
  time is most often overloaded, and asking again would double the wait for the same
  message. An adapter left at its default timeout reads ``OCEAN_EXPLORER_TIMEOUT`` when it
  opens (:func:`default_timeout`), not when this module is imported.
- **Retries where safe** (:class:`RetryPolicy`): every read is an idempotent GET, tried at
  most ``attempts`` times (3) when the failure may pass: HTTP 5xx, HTTP 429 (after the
  server's ``Retry-After``, when it asks for at most ``retry_after_cap_s``; longer, and the
  read fails at once saying how long to wait), a refused or reset connection, an answer
  cut short. Between tries: ``backoff_s`` (0.25 s), doubled each time. Other 4xx, HTML
  pages instead of data and timeouts are never retried. The worst case of one read is
  :meth:`RetryPolicy.bound` (``attempts x timeout`` plus the waits).
- **One-line errors.** A read that fails ends in a :class:`SourceError` that names the
  source (password replaced by ``***``), what happened (HTTP 503, too many requests, timed
  out after N s, an HTML page instead of data, cut short, a missing chunk) and what to do.
  Lazy reads raise it too, from inside dask: Zarr over HTTP through
  :class:`~data_adapters.http_store.GuardedHTTPFileSystem` (the fsspec filesystem zarr reads
  chunks with), OPeNDAP through a netCDF4 data store whose arrays read with the same policy
  (``data_adapters.opendap``).
- **Structured logs.** Each retry logs ``event=retry`` (info) and each failure
  ``event=source_error`` (warning) on the ``data_adapters.remote`` logger, as ``key=value``
  fields: ``source`` (redacted), ``where``, ``reason`` (``http_503``, ``timeout``,
  ``refused``...), ``attempt=2/3``, ``elapsed_ms``, ``wait_ms``.
- **Recovery.** Nothing remembers a failure: the next read of the same dataset asks the
  server again, and a failed open is not cached by the catalog (``functools.lru_cache``
  keeps results only).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3

from .errors import (
    HTML_PAGE,
    Failure,
    SourceError,
    classify,
    failure_for_status,
    log_field,
    looks_like_html,
    read_errors,
    timeout_failure,
)

#: The logger of the ``event=...`` lines; its name is the one the README documents (log
#: filters in deployments use it), kept from when this module was ``data_adapters.remote``.
LOGGER_NAME = "data_adapters.remote"
log = logging.getLogger(LOGGER_NAME)

T = TypeVar("T")

#: Seconds a remote request may take when the adapter does not say (its ``timeout`` None).
FALLBACK_TIMEOUT_S = 20.0
#: Environment variable that overrides :data:`FALLBACK_TIMEOUT_S` (seconds).
TIMEOUT_ENV = "OCEAN_EXPLORER_TIMEOUT"


def default_timeout() -> float:
    """Seconds a remote request may take by default: ``$OCEAN_EXPLORER_TIMEOUT``, else 20.

    Read at each call (a dictionary look-up), so a server or test that sets the variable
    after import is obeyed.
    """
    return float(os.environ.get(TIMEOUT_ENV) or FALLBACK_TIMEOUT_S)


def timeout_or_default(timeout: float | None) -> float:
    """``timeout`` (seconds), or :func:`default_timeout` when it is None."""
    return default_timeout() if timeout is None else float(timeout)


def is_url(uri: str) -> bool:
    """True for http(s) URLs."""
    return urlsplit(uri).scheme in ("http", "https")


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


# -- the policy -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a failed remote read is tried again.

    Only failures that :class:`~data_adapters.errors.Failure` marks ``retriable`` are (all
    reads are idempotent GETs): HTTP 5xx, 429, refused or reset connections, cut-short
    answers.
    """

    #: Tries in all, the first included.
    attempts: int = 3
    #: Seconds before the second try; doubled before each further one.
    backoff_s: float = 0.25
    #: Longest ``Retry-After`` (seconds) honoured; a server asking for more fails the read
    #: at once (a map must not wait minutes), with the wait in the message.
    retry_after_cap_s: float = 5.0

    def wait(self, failure: Failure, attempt: int) -> float | None:
        """Seconds to wait before trying again after ``attempt`` failed, or None to stop."""
        if not failure.retriable or attempt >= self.attempts:
            return None
        if failure.retry_after is not None:
            return None if failure.retry_after > self.retry_after_cap_s else failure.retry_after
        return self.backoff_s * 2 ** (attempt - 1)

    def bound(self, timeout: float) -> float:
        """The longest one read can take (seconds) with requests of ``timeout`` seconds."""
        longest_wait = max(self.retry_after_cap_s, self.backoff_s * 2 ** (self.attempts - 2))
        return self.attempts * timeout + (self.attempts - 1) * longest_wait


#: The policy of every remote adapter.
POLICY = RetryPolicy()


def log_event(event: str, level: int = logging.WARNING, **fields: object) -> None:
    """Log one ``event=NAME key=value ...`` line on ``data_adapters.remote``."""
    text = " ".join(f"{key}={log_field(value)}" for key, value in fields.items())
    log.log(level, "event=%s %s", event, text)


def _give_up(
    exc: BaseException,
    failure: Failure,
    attempt: int,
    policy: RetryPolicy,
    label: str,
    where: str,
    started: float,
) -> SourceError:
    if failure.retriable and failure.retry_after is not None and attempt < policy.attempts:
        # retriable, but the server asks for a longer wait than a view can afford
        failure = dataclasses.replace(
            failure,
            fix=f"the server asks to wait {failure.retry_after:.0f} s: try again after that",
        )
    log_event(
        "source_error",
        logging.WARNING,
        source=label,
        where=where,
        reason=failure.reason,
        attempt=f"{attempt}/{policy.attempts}",
        elapsed_ms=round(1000 * (time.monotonic() - started)),
    )
    error = SourceError(failure.message(label, where, attempt))
    error.__cause__ = exc
    return error


def _log_retry(
    failure: Failure, attempt: int, wait: float, policy: RetryPolicy, label: str, where: str
) -> None:
    log_event(
        "retry",
        logging.INFO,  # routine on a busy server; the failure, if it comes, is a warning
        source=label,
        where=where,
        reason=failure.reason,
        attempt=f"{attempt}/{policy.attempts}",
        wait_ms=round(1000 * wait),
    )


def with_retries(
    call: Callable[[], T],
    *,
    label: str,
    timeout: float,
    where: str = "",
    policy: RetryPolicy = POLICY,
    judge: Callable[[BaseException, float], Failure] | None = None,
) -> T:
    """``call()``, tried again as ``policy`` allows; a failure ends in a one-line SourceError.

    Parameters
    ----------
    call
        One request (it must bound its own time, e.g. by ``timeout``).
    label
        The source, as messages name it (redacted).
    timeout
        Seconds each request may take (for messages).
    where
        What is being read (``"reading 'sst/c/0/0'"``), for messages and logs.
    judge
        ``judge(exc, seconds_taken) -> Failure``; default :func:`~data_adapters.errors.classify`.

    Raises
    ------
    SourceError
        When the read failed and may not (or no longer) be tried again; a SourceError
        raised by ``call`` (an HTML page, a missing chunk) is final at once.
    """
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        begun = time.monotonic()
        try:
            return call()
        except SourceError:
            raise
        except read_errors() as exc:
            failure = judge(exc, time.monotonic() - begun) if judge else classify(exc, timeout)
            wait = policy.wait(failure, attempt)
            if wait is None:
                raise _give_up(exc, failure, attempt, policy, label, where, started) from exc
            _log_retry(failure, attempt, wait, policy, label, where)
            time.sleep(wait)  # back-off before asking the server again
    raise AssertionError("unreachable: the last attempt returns or raises")


async def with_retries_async(
    call: Callable[[], Awaitable[T]],
    *,
    label: str,
    timeout: float,
    where: str = "",
    policy: RetryPolicy = POLICY,
) -> T:
    """:func:`with_retries` for coroutines (zarr reads chunks on an asyncio loop)."""
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except (SourceError, FileNotFoundError):
            raise  # final, or (404) zarr's to judge: a document or chunk that is not there
        except read_errors() as exc:
            failure = classify(exc, timeout)
            wait = policy.wait(failure, attempt)
            if wait is None:
                raise _give_up(exc, failure, attempt, policy, label, where, started) from exc
            _log_retry(failure, attempt, wait, policy, label, where)
            await asyncio.sleep(wait)  # other chunks go on being read meanwhile
    raise AssertionError("unreachable: the last attempt returns or raises")


# -- plain GETs (metadata documents) --------------------------------------------------------
class TooSlowError(TimeoutError):
    """An answer still arriving when the request's time was up."""


def get_once(url: str, timeout: float) -> requests.Response:
    """GET ``url`` within ``timeout`` seconds for the whole answer (requests' own timeout
    only bounds each wait for a byte: a trickling server would never hit it)."""
    started = time.monotonic()
    with requests.get(url, timeout=(timeout, timeout), stream=True) as resp:
        pieces = []
        while True:
            try:
                piece = resp.raw.read1(1 << 16, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.ReadTimeout(exc) from exc  # as resp.content would say
            except urllib3.exceptions.ProtocolError as exc:  # e.g. a body cut short
                raise requests.exceptions.ChunkedEncodingError(exc) from exc
            if not piece:
                break
            pieces.append(piece)
            if time.monotonic() - started > timeout:
                raise TooSlowError(f"answer still arriving after {timeout:g} s")
        resp._content = b"".join(pieces)  # what resp.content would have read
        resp._content_consumed = True
    return resp


def get_status(url: str, timeout: float) -> requests.Response:
    """:func:`get_once`, raising for an HTTP error other than 404 (5xx and 429 are then
    retried, other 4xx not)."""
    resp = get_once(url, timeout)
    if resp.status_code != 404:
        resp.raise_for_status()
    return resp


def check_reachable(
    urls: list[str],
    label: str,
    timeout: float,
    html_fix: str | None = None,
    policy: RetryPolicy = POLICY,
) -> requests.Response:
    """GET the first of ``urls`` that answers 200 (a 404 moves on to the next).

    Each GET follows the retry policy and gets ``timeout`` seconds for its whole answer; a
    refused connection, a silent or trickling server, an HTTP error or an HTML page becomes
    a one-line SourceError, so a bad URL never hangs the caller.

    Parameters
    ----------
    html_fix
        What to do when the server answers with an HTML page (default: check the URL).
    """

    def judge(exc: BaseException, took: float) -> Failure:
        if isinstance(exc, TooSlowError):
            return timeout_failure(
                timeout, f"timed out after {timeout:g} s (the answer came too slowly)"
            )
        if isinstance(exc, requests.Timeout):
            return timeout_failure(timeout, f"no answer within {timeout:g} s (timed out)")
        return classify(exc, timeout)

    last: requests.Response | None = None
    for url in urls:
        resp = with_retries(
            functools.partial(get_status, url, timeout),
            label=label,
            timeout=timeout,
            where=f"reading '{url.rsplit('/', 1)[-1]}'",
            policy=policy,
            judge=judge,
        )
        if resp.status_code == 200:
            if looks_like_html(resp.content):
                failure = HTML_PAGE
                if html_fix is not None:
                    failure = dataclasses.replace(HTML_PAGE, fix=html_fix)
                where = f"reading '{url.rsplit('/', 1)[-1]}'"
                log_event("source_error", logging.WARNING, source=label, where=where, reason="html")
                raise SourceError(failure.message(label, where))
            return resp
        last = resp
    assert last is not None
    failure = failure_for_status(last.status_code)
    log_event("source_error", logging.WARNING, source=label, reason=failure.reason)
    raise SourceError(failure.message(label))
