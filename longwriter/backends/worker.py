"""One long-lived inference thread for all torch work in the process.

On small CPUs torch is markedly slower when its work hops between threads (measured on a
2-core machine: ``generate()`` fell from ~28 to ~16 tokens/s when torch had first run on another
thread), so model loading and every generation run on this single thread, one job at a time.
Async callers await jobs through futures; generations stream back through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class InferenceWorker:
    """A daemon thread that runs submitted callables in order."""

    def __init__(self, name: str = "longwriter-inference") -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:
                logging.getLogger(__name__).exception("inference job failed")

    def shutdown(self, timeout: float = 10.0) -> None:
        """Let the current job finish and end the thread.

        Called at interpreter exit: torch aborts the process if a daemon thread still holds its
        runtime while the interpreter tears down.
        """
        self._jobs.put(None)
        self._thread.join(timeout)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` on the inference thread; the returned future resolves in the caller's loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - every failure must reach the awaiting caller
                post(loop, _settle, future, None, exc)
            else:
                post(loop, _settle, future, result, None)

        self._jobs.put(job)
        return future

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the inference thread and block until it returns (for synchronous callers)."""
        if threading.current_thread() is self._thread:
            return fn()
        done = threading.Event()
        box: dict[str, object] = {}

        def job() -> None:
            try:
                box["result"] = fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc
            finally:
                done.set()

        self._jobs.put(job)
        done.wait()
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["result"]  # type: ignore[return-value]


def post(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object) -> None:
    """Hand ``callback(*args)`` to ``loop`` from the inference thread, if anyone is still listening.

    A caller's loop may close while its job still runs (a test ends, a server shuts down, a
    request is cancelled under an anyio scope); raising here would kill the one inference
    thread and hang every later generation, so a closed loop simply drops the message.
    """
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # "Event loop is closed"
        pass


def _settle(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


_WORKER: InferenceWorker | None = None
_WORKER_LOCK = threading.Lock()


def inference_worker() -> InferenceWorker:
    """The process-wide inference thread, started on first use."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = InferenceWorker()
        return _WORKER
