"""The map's background reads: frames read by a pool of frame threads, one at a time per map.

So a slow source keeps only its own map waiting.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

#: Longest a map callback waits for its frame (s) before it shows the last picture and
#: redraws when the frame is there: a slow source never holds the server for long.
FRAME_WAIT_S = 0.2
#: Threads that read frames for the sessions of a process (one at a time per map).
FRAME_THREADS = 8


@functools.cache
def shared_pool() -> ThreadPoolExecutor:
    """The process's frame threads, made on first use (not at import)."""
    return ThreadPoolExecutor(FRAME_THREADS, thread_name_prefix="map-frame")


class FrameReader:
    """One map's reads: at most one at a time, the newest view waiting its turn.

    ``pool`` runs the reads (default: :func:`shared_pool`); a server or a test may pass its
    own.
    """

    def __init__(self, pool: ThreadPoolExecutor | None = None, wait_s: float = FRAME_WAIT_S):
        self.pool = pool
        self.wait_s = wait_s
        self._job: Future | None = None  # this map's read, and the view it reads
        self._job_key: Hashable | None = None
        self._redraw_for: Future | None = None  # the read whose end redraws the map

    def ready(
        self, key: Hashable, read: Callable[[], Any], redraw: Callable[[Future], None]
    ) -> bool | BaseException:
        """True when the read of view ``key`` has ended, False while it is on its way (then
        ``redraw`` is called once it ends), or the error it ended in.

        Waits at most ``wait_s`` for it: a quick frame is drawn in one go. While another
        view's read runs, only the newest view asked for waits its turn, so a slow source
        holds one frame thread per map, never the whole pool.
        """
        job = self._job
        if job is None or (job.done() and self._job_key != key):
            job = self._job = (self.pool or shared_pool()).submit(read)
            self._job_key = key
        elif self._job_key != key:  # another view's read is still running: wait for it
            self._redraw_after(job, redraw)
            return False
        try:
            job.result(timeout=self.wait_s)
        except FutureTimeout:
            self._redraw_after(job, redraw)
            return False
        except Exception as exc:  # reported by the caller; the next request reads again
            self._job = None
            return exc
        return True

    def _redraw_after(self, job: Future, redraw: Callable[[Future], None]) -> None:
        if self._redraw_for is not job:
            self._redraw_for = job
            job.add_done_callback(redraw)
