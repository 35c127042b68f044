"""The real cascade engine behind the server (skipped until polyvox.cascade.engine and its models are there)."""

from __future__ import annotations

import importlib.util

import pytest
from realtime_helpers import RATE, Server, manual_mode

from polyvox.audio import load_audio
from polyvox.server import ServerOptions, create_app
from polyvox.server.testing import running_server

HAS_CASCADE = importlib.util.find_spec("polyvox.cascade") is not None and (
    importlib.util.find_spec("polyvox.cascade.engine") is not None
)


@pytest.mark.skipif(not HAS_CASCADE, reason="polyvox.cascade.engine is not available yet")
def test_spoken_question_gets_a_spoken_answer(cascade, say):
    """Manual commit of espeak-ng speech -> transcript, streamed audio + transcript, trace metadata."""
    question = load_audio(say("What is the capital of France?"), RATE).samples  # (n,) float32 at 24 kHz

    async def body(s):
        c = await s.connect()
        await c.session(instructions="Answer in one short sentence.", **manual_mode())
        await c.append(question)
        await c.send(type="input_audio_buffer.commit")
        await c.send(type="response.create")
        tr = await c.until("conversation.item.input_audio_transcription.completed", timeout=60)
        assert "france" in tr["transcript"].lower()
        done = await c.until("response.done", timeout=120)
        assert done["response"]["status"] == "completed", done["response"].get("status_details")
        assert "response.output_audio.delta" in c.types()
        spoken = done["response"]["output"][0]["content"][0]["transcript"]
        assert "paris" in spoken.lower()
        assert done["response"]["metadata"]["polyvox_language"] == "en"
        await c.ws.close()

    with running_server(create_app(lambda: cascade, ServerOptions())) as port:
        Server(port, cascade, None).run(body)
