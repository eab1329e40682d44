"""Backend for any OpenAI-compatible server, first of all ``vllm serve``.

Text streams over Server-Sent Events. The model's prompt format decides the API: formats with
their own raw layout (GLM-4, ``[INST]``, think/answer) go through ``/completions`` so the server
sees exactly our text; tokenizer chat templates go through ``/chat/completions`` so the server
applies the template it ships with. Closing the stream closes the HTTP response, which is how
vLLM learns that nobody is listening and stops generating.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from longwriter.backends.base import BackendError, GenerationRequest, estimate_tokens
from longwriter.catalog import ModelSpec

_CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection; a server that is up accepts at once, so waiting longer only delays the error."""

MAX_RETRY_AFTER = 30.0
"""Longest ``Retry-After`` (seconds) waited out, once, on HTTP 429; a longer wait is the user's call."""


class ModelNotServed(BackendError):
    """The server is up but does not serve the model name the backend asks for."""

    def __init__(self, message: str, served: tuple[str, ...]) -> None:
        super().__init__(message)
        self.served = served


class OpenAIBackend:
    """Streams from an OpenAI-compatible ``/v1`` endpoint with httpx."""

    name = "openai"

    def __init__(
        self,
        spec: ModelSpec,
        base_url: str,
        api_key: str = "EMPTY",
        timeout: float = 600.0,
        served_model: str | None = None,
    ) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.served_model = served_model or spec.source
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT)),
        )

    @property
    def context_window(self) -> int:
        return self.spec.context_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Yield the text deltas of one streamed generation.

        Leaving the ``async with`` (consumer's ``aclose``, ``break`` or cancellation) closes the
        response and its connection at once, so the server aborts the request.
        """
        path, body = self._request_body(request)
        received = 0
        finished = False
        try:
            async with self._response(path, body) as response:
                if response.is_error:
                    await response.aread()
                    busy = ""
                    if response.status_code == 429:
                        wait = response.headers.get("retry-after")
                        busy = (
                            f" — the server is busy{f' and asks to wait {wait} s' if wait else ''}; press Retry later"
                        )
                    raise BackendError(
                        f"The model server at {self.base_url} refused the request "
                        f"(HTTP {response.status_code}): {_error_message(response)}{busy}"
                    )
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):  # SSE comments, event names, blank separators
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    text, finish_reason = self._parse_chunk(data)
                    finished = finished or finish_reason is not None
                    if text:
                        received += len(text)
                        yield text
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise self._unreachable(exc) from exc
        except httpx.ReadTimeout as exc:
            raise BackendError(
                f"The model server at {self.base_url} sent nothing for {self._timeout:g} s; "
                f"gave up after {received} characters (the partial text was kept)."
            ) from exc
        except httpx.TransportError as exc:
            if finished:  # the text was complete; only the closing [DONE] got lost
                return
            raise BackendError(
                f"The stream from the model server at {self.base_url} broke after {received} characters "
                f"({exc or type(exc).__name__}); the partial text was kept."
            ) from exc
        if not finished:
            raise BackendError(
                f"The stream from the model server at {self.base_url} ended without finishing after "
                f"{received} characters; the partial text was kept."
            )

    @asynccontextmanager
    async def _response(self, path: str, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """The streamed response to one request; a 429 with a short ``Retry-After`` is waited out once."""
        async with self._client.stream("POST", path, json=body) as response:
            wait = _retry_after(response)
            if wait is None:
                yield response
                return
        await asyncio.sleep(wait)
        async with self._client.stream("POST", path, json=body) as response:
            yield response

    async def health(self) -> str:
        """The model ids the server offers, comma-separated; fails unless it is up and serves our model.

        The one check of a server for every caller (the doctor, the page's availability): each failure
        says what to change, and :class:`ModelNotServed` tells "up, but not serving our name" apart.
        """
        try:
            response = await self._client.get("/models")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise self._unreachable(exc) from exc
        except httpx.HTTPError as exc:
            raise BackendError(
                f"The model server at {self.base_url} did not answer /models ({exc or type(exc).__name__})."
            ) from exc
        if response.status_code in (401, 403):
            raise BackendError(
                f"The model server at {self.base_url} refused the API key (HTTP {response.status_code}): "
                "set LONGWRITER_API_KEY to its --api-key."
            )
        if response.is_error:
            hint = ": LONGWRITER_BASE_URL should be the server's /v1 root" if response.status_code == 404 else ""
            raise BackendError(
                f"The model server at {self.base_url} answered HTTP {response.status_code} for /models{hint} "
                f"({_error_message(response)})."
            )
        try:
            ids = tuple(str(model["id"]) for model in response.json()["data"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError(
                f"{self.base_url}/models is not an OpenAI model list: LONGWRITER_BASE_URL should be the server's /v1 root."
            ) from exc
        if self.served_model not in ids:
            raise ModelNotServed(
                f"The model server at {self.base_url} serves {', '.join(ids) or 'no models'}, not "
                f"{self.served_model!r}: start it with --served-model-name {self.served_model}, or set "
                "LONGWRITER_SERVED_MODEL to the name it serves.",
                served=ids,
            )
        return ", ".join(ids)

    def _unreachable(self, exc: Exception) -> BackendError:
        return BackendError(
            f"Cannot reach the model server at {self.base_url} ({exc}). Is it running? "
            "Start one with `vllm serve MODEL` or check LONGWRITER_BASE_URL."
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _request_body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint and JSON body for ``request`` in this model's prompt format.

        vLLM's extra sampling fields are sent only when they change something, so servers that
        reject unknown fields still accept a plain request.
        """
        fmt = self.spec.format
        body: dict[str, Any] = {
            "model": self.served_model,
            "stream": True,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        stop = list(dict.fromkeys(request.stop + fmt.stop))
        if stop:
            body["stop"] = stop
        if request.seed is not None:
            body["seed"] = request.seed
        if request.top_k:
            body["top_k"] = request.top_k
        if request.repetition_penalty != 1.0:
            body["repetition_penalty"] = request.repetition_penalty
        if request.min_tokens:
            body["min_tokens"] = request.min_tokens
        if fmt.extra_stop_ids:
            body["stop_token_ids"] = list(fmt.extra_stop_ids)
        if fmt.api == "completion":
            body["prompt"] = fmt.render(
                request.prompt, system=request.system, assistant_prefix=request.assistant_prefix
            )
            body["add_special_tokens"] = False  # the rendered prompt already holds BOS / [gMASK]<sop>
            return "/completions", body
        body["messages"] = fmt.messages(
            request.prompt, system=request.system, assistant_prefix=request.assistant_prefix
        )
        if request.assistant_prefix:
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        return "/chat/completions", body

    def _parse_chunk(self, data: str) -> tuple[str, str | None]:
        """The text and finish reason of one streamed chunk, from either API."""
        try:
            chunk = json.loads(data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            raise BackendError(f"The model server at {self.base_url} sent a malformed event: {data[:200]!r}")
        if "error" in chunk:  # vLLM reports failures that happen after the 200 header inside the stream
            raise BackendError(f"The model server at {self.base_url} failed mid-stream: {_message_of(chunk)}")
        choices = chunk.get("choices") or [{}]
        choice = choices[0]
        text = choice.get("text") if "text" in choice else (choice.get("delta") or {}).get("content")
        return text or "", choice.get("finish_reason")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 answer asks to wait, when given in seconds and short enough to wait; else None."""
    if response.status_code != 429:
        return None
    try:
        wait = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return wait if 0 <= wait <= MAX_RETRY_AFTER else None


def _error_message(response: httpx.Response) -> str:
    """The server's own explanation of an error response, in OpenAI's or vLLM's error shape."""
    try:
        return _message_of(response.json())
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase


def _message_of(payload: Any) -> str:
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(payload)[:500]
