"""The openai backend against a real OpenAI-compatible server backed by the embedded 135M model.

The server (tests/openai_server.py) speaks vLLM's wire format over a real socket, so these tests
cover streaming, the completion/chat split, cancellation reaching the server, and every failure
the user can meet: server down, server dying mid-stream, server refusing the request.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace

import pytest
from openai_server import serve

from longwriter.backends.base import Backend, BackendError, GenerationRequest
from longwriter.backends.openai import OpenAIBackend
from longwriter.catalog import ModelSpec, with_format

STORY = GenerationRequest(
    prompt="Write a long story about a lighthouse keeper.", max_tokens=32, temperature=0.6, top_p=0.9, seed=7
)


@asynccontextmanager
async def client(
    spec: ModelSpec, base_url: str, served_model: str | None = None, timeout: float = 60.0
) -> AsyncIterator[OpenAIBackend]:
    backend = OpenAIBackend(spec, base_url, timeout=timeout, served_model=served_model)
    try:
        yield backend
    finally:
        await backend.aclose()


async def collect(backend: Backend, request: GenerationRequest) -> str:
    return "".join([piece async for piece in backend.stream(request)])


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ANY_SPEC = ModelSpec(id="m", source="m")


@pytest.mark.model
async def test_chat_format_streams_through_chat_api(local_backend: Backend) -> None:
    request = GenerationRequest(
        prompt="Tell me a fairy tale.",
        system="You are terse.",
        assistant_prefix="Once upon a time",
        max_tokens=16,
        temperature=0.6,
        top_p=0.9,
        top_k=40,
        repetition_penalty=1.1,
        seed=0,
        stop=("\n\n\n",),
        min_tokens=8,
    )
    with serve(local_backend) as server:
        async with client(local_backend.spec, server.base_url) as backend:
            text = await collect(backend, request)
        (generation,) = await server.stats.wait_finished()
    assert text.strip()
    assert generation.endpoint == "chat" and generation.outcome == "done"
    assert generation.request == request  # every field made the round trip, seed 0 and the prefix included
    assert generation.body["continue_final_message"] is True and generation.body["add_generation_prompt"] is False


@pytest.mark.model
async def test_completion_format_sends_the_rendered_prompt(local_backend: Backend) -> None:
    spec = with_format(local_backend.spec, "llama-inst")
    request = GenerationRequest(prompt="Describe the sea.", max_tokens=16, temperature=0.6, top_p=0.9, seed=3)
    with serve(local_backend) as server:
        async with client(spec, server.base_url) as backend:
            text = await collect(backend, request)
        (generation,) = await server.stats.wait_finished()
    assert text.strip()
    assert generation.endpoint == "completions" and generation.outcome == "done"
    assert generation.request.prompt == spec.format.render("Describe the sea.")
    assert generation.request.prompt.endswith("[INST]Describe the sea.[/INST]")
    assert generation.request.stop == ("[INST]",)
    assert generation.body["add_special_tokens"] is False  # the rendered prompt carries its own BOS


@pytest.mark.model
async def test_closing_the_stream_stops_generation_on_the_server(local_backend: Backend) -> None:
    request = replace(STORY, max_tokens=48)
    with serve(local_backend) as server:
        async with client(local_backend.spec, server.base_url) as backend:
            received: list[str] = []
            async with aclosing(backend.stream(request)) as stream:
                async for piece in stream:
                    received.append(piece)
                    if len(received) == 3:
                        break
            (generation,) = await server.stats.wait_finished(timeout=20)
    assert len(received) == 3
    assert generation.outcome == "cancelled"
    assert generation.chunks < request.max_tokens


@pytest.mark.model
async def test_server_dying_mid_stream_raises_and_keeps_partial_text(local_backend: Backend) -> None:
    received: list[str] = []
    with serve(local_backend, die_after=3) as server:
        async with client(local_backend.spec, server.base_url) as backend:
            with pytest.raises(BackendError, match="broke after .* the partial text was kept"):
                async for piece in backend.stream(STORY):
                    received.append(piece)
        (generation,) = await server.stats.wait_finished()
    assert generation.outcome == "died"
    assert len(received) == 3 and "".join(received).strip()


@pytest.mark.parametrize("call", ["stream", "health"])
async def test_server_down_names_the_url(call: str) -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    async with client(ANY_SPEC, url) as backend:
        with pytest.raises(BackendError, match=f"Cannot reach the model server at {url}"):
            if call == "stream":
                await collect(backend, STORY)
            else:
                await backend.health()


async def test_silent_server_times_out() -> None:
    with socket.socket() as sock:  # listening but never answering: the kernel accepts, nobody replies
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        async with client(ANY_SPEC, url, timeout=0.5) as backend:
            with pytest.raises(BackendError, match=f"The model server at {url} sent nothing for 0.5 s"):
                await collect(backend, STORY)


@pytest.mark.model
async def test_http_error_surfaces_the_server_message(local_backend: Backend) -> None:
    with serve(local_backend) as server:
        async with client(local_backend.spec, server.base_url, served_model="no-such-model") as backend:
            with pytest.raises(BackendError, match=r"HTTP 404.*The model `no-such-model` does not exist"):
                await collect(backend, STORY)
        assert server.stats.requests == 1 and not server.stats.generations


@pytest.mark.model
async def test_health_lists_served_models_and_checks_ours(local_backend: Backend) -> None:
    with serve(local_backend) as server:
        async with client(local_backend.spec, server.base_url) as backend:
            assert await backend.health() == local_backend.spec.source
        async with client(local_backend.spec, server.base_url, served_model="other") as backend:
            with pytest.raises(BackendError, match="not 'other'"):
                await backend.health()
