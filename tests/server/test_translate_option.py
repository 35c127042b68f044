"""Translation mode as a Realtime session option: `?translate_to=es` on the URL or `session.polyvox.translate_to`
in session.update, validated, with the stock `openai` client unchanged; a real cascade replies in Spanish."""

from __future__ import annotations

import asyncio
import re

import pytest
import websockets
from realtime_helpers import RATE, Client, Server, manual_mode

from polyvox.audio import load_audio
from polyvox.server import ServerOptions, create_app
from polyvox.server.testing import running_server

openai = pytest.importorskip("openai")


async def _connect(s: Server, query: str = "") -> Client:
    c = Client(await websockets.connect(s.url + query))
    assert (await c.recv())["type"] == "session.created"
    assert (await c.recv())["type"] == "conversation.created"
    return c


async def _typed_turn(c: Client, text: str, timeout: float = 5.0) -> dict:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await c.send(type="conversation.item.create", item=item)
    await c.send(type="response.create")
    return await c.until("response.done", timeout=timeout)


def test_url_parameter_turns_translation_on_for_that_session_only(server):
    async def body(s):
        c = await _connect(s, "&translate_to=ES")
        assert c.seen[0]["session"]["polyvox"] == {"translate_to": "es"}
        await _typed_turn(c, "Good morning")
        assert s.engine.turns[-1].conversation.translate_to == "es"
        plain = await s.connect()  # another session: no translation
        await _typed_turn(plain, "Good morning")
        assert s.engine.turns[-1].conversation.translate_to is None
        await c.ws.close()
        await plain.ws.close()

    server.run(body)


def test_session_update_sets_and_clears_it(server):
    async def body(s):
        c = await s.connect()
        upd = await c.session(polyvox={"translate_to": "fr"})
        assert upd["session"]["polyvox"] == {"translate_to": "fr"}
        await _typed_turn(c, "Good night")
        assert s.engine.turns[-1].conversation.translate_to == "fr"
        kept = await c.session(instructions="be brief")  # other updates leave it on
        assert kept["session"]["polyvox"] == {"translate_to": "fr"}
        off = await c.session(polyvox={"translate_to": None})
        assert off["session"]["polyvox"] == {"translate_to": None}
        await _typed_turn(c, "Good night")
        assert s.engine.turns[-1].conversation.translate_to is None
        await c.ws.close()

    server.run(body)


@pytest.mark.parametrize(
    ("polyvox", "message"),
    [
        ({"translate_to": "xx"}, "unknown translation language 'xx'"),
        ({"translate_to": "Spanish"}, "use an ISO 639-1 code"),
        ({"translate_to": 7}, "unknown translation language 7"),
        ({"translate_to": "es", "voice_clone": True}, "has no field voice_clone"),
        ("es", "must be an object"),
    ],
)
def test_bad_values_are_error_events_and_change_nothing(server, polyvox, message: str):
    async def body(s):
        c = await s.connect()
        await c.session(polyvox={"translate_to": "de"})
        await c.send(type="session.update", event_id="evt_1", session={"type": "realtime", "polyvox": polyvox})
        err = (await c.until("error"))["error"]
        assert message in err["message"] and err["event_id"] == "evt_1" and err["param"].startswith("session.polyvox")
        await _typed_turn(c, "Hello")  # the connection stays up, the setting unchanged
        assert s.engine.turns[-1].conversation.translate_to == "de"
        await c.ws.close()

    server.run(body)


def test_a_bad_url_parameter_is_an_error_event_and_the_session_runs_untranslated(server):
    async def body(s):
        c = await _connect(s, "&translate_to=klingon")
        err = (await c.until("error"))["error"]
        assert err["param"] == "translate_to" and "unknown translation language 'klingon'" in err["message"]
        assert "polyvox" not in c.seen[0]["session"]
        await _typed_turn(c, "Hello")
        assert s.engine.turns[-1].conversation.translate_to is None
        await c.ws.close()

    server.run(body)


def test_the_stock_client_sends_it_unchanged(server):
    async def body():
        client = openai.AsyncOpenAI(api_key="unused", websocket_base_url=f"ws://127.0.0.1:{server.port}/v1")
        async with client.realtime.connect(model="polyvox", extra_query={"translate_to": "es"}) as conn:
            created = await conn.recv()
            assert created.type == "session.created" and created.session.polyvox == {"translate_to": "es"}
            await conn.session.update(session={"type": "realtime", "polyvox": {"translate_to": "it"}})
            async for ev in conn:
                if ev.type == "session.updated":
                    assert ev.session.polyvox == {"translate_to": "it"}
                    break
            await conn.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
            )
            await conn.response.create()
            async for ev in conn:
                if ev.type == "response.done":
                    break
        assert server.engine.turns[-1].conversation.translate_to == "it"

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_spoken_english_turn_comes_back_in_spanish(cascade, say):
    """The real cascade behind the server, translation on from the URL; the language is checked against what
    the engine can voice."""
    question = load_audio(say("Good morning, where is the train station?"), RATE).samples  # (n,) float32 24 kHz

    async def body(s):
        c = await _connect(s, "&translate_to=es")
        await c.session(**manual_mode())
        await c.append(question)
        await c.send(type="input_audio_buffer.commit")
        await c.send(type="response.create")
        done = await c.until("response.done", timeout=120)
        assert done["response"]["status"] == "completed", done["response"].get("status_details")
        spoken = done["response"]["output"][0]["content"][0]["transcript"]
        words = set(re.findall(r"\w+", spoken.lower()))
        spanish = {"buenos", "buenas", "días", "dónde", "donde", "está", "estación", "tren", "el", "la"}
        assert len(words & spanish) >= 2, spoken
        assert done["response"]["metadata"]["polyvox_language"] == "es"
        assert "response.output_audio.delta" in c.types()
        await c.send(type="session.update", session={"type": "realtime", "polyvox": {"translate_to": "tlh"}})
        assert "one of" in (await c.until("error"))["error"]["message"]
        await c.ws.close()

    with running_server(create_app(lambda: cascade, ServerOptions())) as port:
        Server(port, cascade, None).run(body)
