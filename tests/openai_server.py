"""A small but real OpenAI-compatible HTTP server for tests, serving any ``Backend``.

It speaks the wire format ``vllm serve`` speaks (``/v1/completions``, ``/v1/chat/completions``
as Server-Sent Events ending in ``data: [DONE]``, ``/v1/models``, OpenAI-shaped errors) from a
uvicorn thread with its own event loop, so the client under test talks to it over a real socket.
It records what it served, notices client disconnects the way vLLM does (and closes the
backend stream), and misbehaves on purpose when asked (:class:`Faults`): HTTP errors, rate limits
with ``Retry-After``, streams that die, stall or turn to garbage mid-section, and a strict server
that rejects fields it does not know. The faults can be changed while it runs, so a test can break
the server, watch the client fail, mend it and watch Retry finish.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from longwriter.backends.base import Backend, GenerationRequest
from longwriter.formats import PromptFormat

RAW = PromptFormat(name="raw", template="{system}{prompt}", api="completion", description="the prompt as sent")
"""``/completions`` receives a finished prompt, so it must reach the model unchanged."""

Outcome = Literal["running", "done", "cancelled", "died"]


@dataclass
class Generation:
    """One streamed generation as the server saw it: the JSON body, what it asked the backend for.

    ``outcome`` is ``cancelled`` when the client went away and the server closed the backend
    stream, ``died`` when the server dropped the connection itself.
    """

    endpoint: Literal["completions", "chat"]
    body: dict[str, Any]
    request: GenerationRequest
    chunks: int = 0
    outcome: Outcome = "running"


class ServerStats:
    """What the server has done so far; written by the server thread, read by tests."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.requests = 0
        self.generations: list[Generation] = []

    def count_request(self) -> None:
        with self._changed:
            self.requests += 1

    def started(self, generation: Generation) -> None:
        with self._changed:
            self.generations.append(generation)

    def finished(self, generation: Generation, outcome: Outcome) -> None:
        with self._changed:
            generation.outcome = outcome
            self._changed.notify_all()

    async def wait_finished(self, count: int = 1, timeout: float = 30.0) -> list[Generation]:
        """All generations once ``count`` of them have ended (bounded: ``TimeoutError`` after ``timeout`` s).

        Waits in a worker thread so the caller's event loop keeps running (it may be the one
        that still has to close a dropped stream).
        """

        def ended() -> bool:
            return sum(g.outcome != "running" for g in self.generations) >= count

        def wait() -> list[Generation]:
            with self._changed:
                if not self._changed.wait_for(ended, timeout):
                    raise TimeoutError(f"{count} generation(s) did not end within {timeout} s: {self.generations}")
                return list(self.generations)

        return await asyncio.to_thread(wait)


@dataclass(frozen=True)
class Faults:
    """How the server misbehaves; the default behaves like ``vllm serve``.

    Counts of chunks are per stream. ``rate_limited`` answers that many generation requests with
    429 and ``Retry-After: retry_after`` before serving normally again. ``known_fields`` plays a
    strict OpenAI-style server: a request body with any other field is refused with 400.
    """

    status: int | None = None
    rate_limited: int = 0
    retry_after: float = 1.0
    die_after: int | None = None
    garble_after: int | None = None
    stall_after: int | None = None
    known_fields: frozenset[str] | None = None


STRICT_OPENAI_FIELDS = frozenset(
    {"model", "prompt", "messages", "stream", "max_tokens", "temperature", "top_p", "stop", "seed", "n", "user"}
)
"""What OpenAI's own API accepts of what we send: vLLM's extras (``top_k``, ``min_tokens``, …) are unknown to it."""


class ServerHandle:
    """A running server: the ``/v1`` URL to give a client, what the server has done, and its faults."""

    def __init__(self, base_url: str, stats: ServerStats, app: _App) -> None:
        self.base_url = base_url
        self.stats = stats
        self._app = app

    def misbehave(self, faults: Faults) -> None:
        """Replace the server's faults from now on (``Faults()`` mends it)."""
        self._app.faults, self._app.rate_limited = faults, 0


class _DroppedConnection(Exception):
    """Raised inside a streaming response so uvicorn drops the connection, as a crashed server would."""


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = {400: "BadRequestError", 404: "NotFoundError", 429: "RateLimitError"}.get(status, "InternalServerError")
    payload = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    return JSONResponse(payload, status, headers=headers)


def _event(payload: dict[str, Any] | str) -> str:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    """GenerationRequest sampling fields from an OpenAI/vLLM request body, with OpenAI's defaults."""
    stop = body.get("stop") or ()
    return {
        "max_tokens": int(body.get("max_tokens", 16)),
        "temperature": float(body.get("temperature", 1.0)),
        "top_p": float(body.get("top_p", 1.0)),
        "top_k": int(body.get("top_k", 0)),
        "repetition_penalty": float(body.get("repetition_penalty", 1.0)),
        "stop": (stop,) if isinstance(stop, str) else tuple(stop),
        "seed": body.get("seed"),
        "min_tokens": int(body.get("min_tokens", 0)),
    }


def _chat_request(body: dict[str, Any]) -> GenerationRequest:
    """System, last user turn and (with ``continue_final_message``) the assistant text to continue."""
    messages = body["messages"]
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system") or None
    users = [m["content"] for m in messages if m["role"] == "user"]
    if not users:
        raise ValueError("messages must contain a user message")
    continues = body.get("continue_final_message") and messages[-1]["role"] == "assistant"
    prefix = messages[-1]["content"] if continues else ""
    return GenerationRequest(prompt=users[-1], system=system, assistant_prefix=prefix, **_sampling(body))


class _App:
    """The ASGI application around one backend."""

    def __init__(self, backend: Backend, stats: ServerStats, faults: Faults) -> None:
        self.backend = backend
        # A view of the same backend whose format passes the finished prompt through unchanged.
        self.raw_backend = copy.copy(backend)
        self.raw_backend.spec = replace(backend.spec, format=RAW)
        self.model_id = backend.spec.source
        self.stats = stats
        self.faults = faults
        self.rate_limited = 0
        self.asgi = Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/completions", self.completions, methods=["POST"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        self.stats.count_request()
        model = {"id": self.model_id, "object": "model", "created": int(time.time()), "owned_by": "tests"}
        return JSONResponse({"object": "list", "data": [model]})

    async def completions(self, request: Request) -> Response:
        return await self._generate(request, "completions")

    async def chat(self, request: Request) -> Response:
        return await self._generate(request, "chat")

    async def _generate(self, request: Request, endpoint: Literal["completions", "chat"]) -> Response:
        self.stats.count_request()
        faults = self.faults
        if faults.status is not None:
            return _error(faults.status, "Internal server error (fault injected by the test server).")
        if self.rate_limited < faults.rate_limited:
            self.rate_limited += 1
            return _error(
                429,
                "Too many requests; slow down.",
                headers={"Retry-After": f"{faults.retry_after:g}"},
            )
        try:
            body = await request.json()
            if faults.known_fields is not None and (unknown := sorted(set(body) - faults.known_fields)):
                return _error(400, f"Unrecognized request argument supplied: {', '.join(unknown)}")
            if body.get("model") != self.model_id:
                return _error(404, f"The model `{body.get('model')}` does not exist.")
            if not body.get("stream"):
                return _error(400, "this test server only streams; send stream: true")
            if endpoint == "chat":
                generation = Generation(endpoint, body, _chat_request(body))
            else:
                generation = Generation(
                    endpoint, body, GenerationRequest(prompt=str(body["prompt"]), **_sampling(body))
                )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _error(400, f"invalid request: {exc}")
        backend = self.backend if endpoint == "chat" else self.raw_backend
        chunk = _chunk_maker(endpoint, self.model_id)
        return _EventStream(self._sse(backend, generation, chunk, faults, request))

    async def _sse(
        self,
        backend: Backend,
        generation: Generation,
        chunk: Callable[[str | None, str | None], dict[str, Any]],
        faults: Faults,
        request: Request,
    ) -> AsyncGenerator[str, None]:
        """The event stream of one generation; closes the backend stream however it ends."""
        self.stats.started(generation)
        # The protocol promises a closable stream (base.py), typed as the narrower AsyncIterator.
        stream = cast(AsyncGenerator[str, None], backend.stream(generation.request))
        outcome: Outcome = "died"
        text = ""
        try:
            if generation.endpoint == "chat":
                yield _event(chunk(None, None))  # OpenAI opens a chat stream with the assistant role
            async for delta in stream:
                text += delta
                generation.chunks += 1
                yield _event(chunk(delta, None))
                if generation.chunks == faults.die_after:
                    raise _DroppedConnection(f"fault injected after {generation.chunks} chunks")
                if generation.chunks == faults.garble_after:
                    yield 'data: {"choices": [{"text": "unterminated\n\n'
                if generation.chunks == faults.stall_after:
                    while not await request.is_disconnected():  # silent, connection open, until the client leaves
                        await asyncio.sleep(0.05)
                    outcome = "cancelled"
                    return
            finish = "length" if backend.count_tokens(text) >= generation.request.max_tokens else "stop"
            yield _event(chunk("", finish))
            yield _event("[DONE]")
            outcome = "done"
        except GeneratorExit:  # _EventStream saw the client leave
            outcome = "cancelled"
            raise
        finally:
            try:
                await stream.aclose()
            finally:
                self.stats.finished(generation, outcome)


class _EventStream(StreamingResponse):
    """An SSE response that looks for a client disconnect between events, as vLLM's server does.

    On a disconnect it stops sending and closes its event generator, which closes the backend
    stream: the server stops the model the way any consumer of the protocol does, through
    ``aclose``, not by a cancellation thrown into the middle of the backend's work.
    """

    def __init__(self, events: AsyncGenerator[str, None]) -> None:
        super().__init__(events, media_type="text/event-stream")
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async for event in self._events:
                if await request.is_disconnected():
                    return
                await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self._events.aclose()


def _chunk_maker(
    endpoint: Literal["completions", "chat"], model: str
) -> Callable[[str | None, str | None], dict[str, Any]]:
    """Builds the OpenAI chunk objects of one stream (same id and timestamp throughout)."""
    created = int(time.time())
    if endpoint == "completions":
        head = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": created, "model": model}

        def completion_chunk(text: str | None, finish: str | None) -> dict[str, Any]:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
            return {**head, "choices": [choice]}

        return completion_chunk
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": created, "model": model}

    def chat_chunk(text: str | None, finish: str | None) -> dict[str, Any]:
        delta = {"role": "assistant", "content": ""} if text is None else ({"content": text} if text else {})
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    return chat_chunk


@contextmanager
def serve(backend: Backend, die_after: int | None = None, faults: Faults | None = None) -> Iterator[ServerHandle]:
    """Serve ``backend`` on 127.0.0.1 (a free port) for the duration of the ``with`` block.

    ``die_after=N`` makes every stream drop its connection after N text chunks, without
    ``[DONE]`` (a shorthand for ``faults=Faults(die_after=N)``). The backend must be loaded
    already; it is shared, not copied.
    """
    stats = ServerStats()
    app = _App(backend, stats, faults or Faults(die_after=die_after))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app.asgi, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="openai-test-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test OpenAI server did not start")
            time.sleep(0.01)
        yield ServerHandle(f"http://127.0.0.1:{port}/v1", stats, app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
