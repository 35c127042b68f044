"""The stock `openai` client, unchanged, against a real polyvox server on a loopback port."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from realtime_helpers import RATE, speech

openai = pytest.importorskip("openai")

from polyvox.server import ServerOptions, create_app  # noqa: E402
from polyvox.server.testing import ScriptedEngine, running_server  # noqa: E402

KEY = "sk-test-polyvox"
TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def port():
    engine = ScriptedEngine()
    with running_server(create_app(lambda: engine, ServerOptions(api_key=KEY, vad="energy"))) as p:
        yield p


def client(port: int, key: str = KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, websocket_base_url=f"ws://127.0.0.1:{port}/v1")


async def _events_until(conn, kind: str, seen: list) -> object:
    async for ev in conn:
        seen.append(ev)
        if ev.type == kind:
            return ev
    raise AssertionError(f"connection closed before {kind}")


def test_stock_client_voice_turn_and_tools(port):
    async def body():
        seen: list = []
        async with client(port).realtime.connect(model="polyvox") as conn:
            await conn.session.update(
                session={
                    "type": "realtime",
                    "instructions": "You are terse.",
                    "output_modalities": ["audio"],
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcm", "rate": RATE},
                            "turn_detection": {
                                "type": "server_vad",
                                "threshold": 0.5,
                                "prefix_padding_ms": 300,
                                "silence_duration_ms": 500,
                            },
                        },
                        "output": {"format": {"type": "audio/pcm", "rate": RATE}, "voice": "alloy"},
                    },
                }
            )
            upd = await _events_until(conn, "session.updated", seen)
            assert upd.session.instructions == "You are terse."
            pcm = (speech(0.8) * 32767).astype("<i2").tobytes()
            for i in range(0, len(pcm), 4800):
                await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i : i + 4800]).decode())
            done = await _events_until(conn, "response.done", seen)
            types = [e.type for e in seen]
            for t in (
                "input_audio_buffer.speech_started",
                "input_audio_buffer.speech_stopped",
                "conversation.item.input_audio_transcription.completed",
                "response.output_audio.delta",
                "response.output_audio_transcript.delta",
                "response.output_audio_transcript.done",
            ):
                assert t in types, t
            assert done.response.status == "completed"
            audio = b"".join(base64.b64decode(e.delta) for e in seen if e.type == "response.output_audio.delta")
            assert len(audio) > 0 and len(audio) % 2 == 0
            transcript = next(e for e in seen if e.type == "response.output_audio_transcript.done").transcript
            assert transcript == "hello from polyvox"

            # function calling: tools from session.update, arguments streamed, output sent back, response continues
            await conn.session.update(session={"type": "realtime", "tools": [TOOL], "tool_choice": "auto"})
            await _events_until(conn, "session.updated", seen)
            await conn.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather?"}]}
            )
            await conn.response.create()
            call = await _events_until(conn, "response.function_call_arguments.done", seen)
            assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
            await _events_until(conn, "response.done", seen)
            await conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": call.call_id, "output": json.dumps({"temp_c": 21})}
            )
            await conn.response.create()
            done = await _events_until(conn, "response.done", seen)
            assert done.response.output[0].content[0].transcript == 'the tool said {"temp_c": 21}'

            # errors reach the stock client as error events and the connection stays usable
            await conn.response.cancel()
            err = await _events_until(conn, "error", seen)
            assert err.error.code == "response_cancel_not_active"

    asyncio.run(asyncio.wait_for(body(), 30))


def test_stock_client_wrong_key_is_refused(port):
    async def body():
        with pytest.raises(Exception) as info:
            async with client(port, "sk-wrong").realtime.connect(model="polyvox") as conn:
                await conn.recv()
        assert "403" in str(info.value) or "rejected" in str(info.value).lower()

    asyncio.run(asyncio.wait_for(body(), 30))
