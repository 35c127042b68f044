"""Protocol mechanics against a real server: VAD turns, manual commit, responses, barge-in, truncate, tools."""

from __future__ import annotations

import base64
import json

import numpy as np
from realtime_helpers import RATE, manual_mode, speech

from polyvox.server.testing import tone


def test_session_created_and_update(server):
    async def body(s):
        c = await s.connect()
        created = c.seen[0]["session"]
        assert created["type"] == "realtime" and created["id"].startswith("sess_")
        assert created["audio"]["input"]["turn_detection"] == {
            "type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True
        }  # fmt: skip
        upd = await c.session(
            instructions="be brief",
            audio={
                "output": {"voice": "marin"},
                "input": {"turn_detection": {"type": "server_vad", "threshold": 0.7, "silence_duration_ms": 300}},
            },
        )
        sess = upd["session"]
        assert sess["instructions"] == "be brief"
        assert sess["audio"]["output"]["voice"] == "marin"
        assert sess["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": RATE}  # untouched fields stay
        assert sess["audio"]["input"]["turn_detection"]["threshold"] == 0.7
        off = await c.session(**manual_mode())
        assert "turn_detection" not in off["session"]["audio"]["input"]
        await c.ws.close()

    server.run(body)


SERVER_VAD = {"audio": {"input": {"turn_detection": {"type": "server_vad"}}}}


def test_server_vad_turn(server):
    async def body(s):
        c = await s.connect()
        await c.session(**SERVER_VAD)
        await c.append(speech(0.8))
        started = await c.until("input_audio_buffer.speech_started")
        stopped = await c.until("input_audio_buffer.speech_stopped")
        assert started["item_id"] == stopped["item_id"]
        assert 0 <= started["audio_start_ms"] <= 300  # speech at 300 ms, minus the 300 ms prefix padding
        assert 1500 <= stopped["audio_end_ms"] <= 1700  # speech ends at 1100 ms, + 500 ms silence
        committed = await c.until("input_audio_buffer.committed")
        assert committed["item_id"] == started["item_id"]
        tr = await c.until("conversation.item.input_audio_transcription.completed")
        assert tr["item_id"] == started["item_id"]
        assert tr["transcript"].startswith("audio ")
        heard = float(tr["transcript"].split()[1])
        assert 1.2 <= heard <= 1.7  # padding + speech + silence, not the whole stream
        done = await c.until("response.done")
        assert done["response"]["status"] == "completed"
        out = done["response"]["output"][0]
        assert out["role"] == "assistant" and out["content"][0]["transcript"] == "hello from polyvox"
        meta = done["response"]["metadata"]
        assert meta["polyvox_emotion"] == "neutral" and json.loads(meta["polyvox_timings"])["total"] >= 0
        types = c.types()
        order = [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_audio.delta",
            "response.output_audio_transcript.done",
            "response.done",
        ]
        assert [types.index(t) for t in order] == sorted(types.index(t) for t in order)
        audio = b"".join(base64.b64decode(e["delta"]) for e in c.seen if e["type"] == "response.output_audio.delta")
        assert len(audio) == 3 * 2 * RATE // 10  # three words, 100 ms of 24 kHz pcm16 each
        await c.ws.close()

    server.run(body)


def test_live_transcript_while_the_user_speaks(server):
    async def body(s):
        c = await s.connect()
        await c.session(**SERVER_VAD)
        await c.append(speech(2.5))
        started = await c.until("input_audio_buffer.speech_started")
        delta = await c.until("conversation.item.input_audio_transcription.delta")
        assert delta["item_id"] == started["item_id"] and delta["delta"].strip().startswith("la")
        assert "input_audio_buffer.speech_stopped" not in c.types()  # heard while speaking, not after
        await c.until("response.done")
        await c.ws.close()

    server.run(body)


def test_manual_commit_and_response(server):
    async def body(s):
        c = await s.connect()
        await c.session(**manual_mode())
        await c.append(tone(0.5, RATE))
        await c.send(type="input_audio_buffer.commit", event_id="ev1")
        committed = await c.until("input_audio_buffer.committed")
        await c.send(type="response.create")
        tr = await c.until("conversation.item.input_audio_transcription.completed")
        assert tr["item_id"] == committed["item_id"] and tr["transcript"] == "audio 0.50 s"
        assert (await c.until("response.done"))["response"]["status"] == "completed"
        assert "input_audio_buffer.speech_started" not in c.types()
        # history carries the transcript and the reply into the next turn
        await c.send(
            type="conversation.item.create",
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        )
        await c.until("conversation.item.done")
        await c.send(type="response.create", response={"instructions": "pirate", "output_modalities": ["text"]})
        done = await c.until("response.done")
        assert done["response"]["output"][0]["content"][0] == {"type": "output_text", "text": "hello from polyvox"}
        assert "response.output_text.delta" in c.types()
        turn = s.engine.turns[-1]
        assert turn.text == "hi" and turn.instructions == "pirate"
        assert [(m.role, m.content) for m in turn.history] == [
            ("user", "audio 0.50 s"),
            ("assistant", "hello from polyvox"),
        ]
        await c.ws.close()

    server.run(body)


def test_response_cancel(slow_server):
    async def body(s):
        c = await s.connect()
        await c.session(**manual_mode())
        await c.send(
            type="conversation.item.create",
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
        )
        await c.send(type="response.create")
        await c.until("response.output_audio.delta")
        await c.send(type="response.cancel")
        done = await c.until("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
        n_audio = c.types().count("response.output_audio.delta")
        assert n_audio < 20
        await c.ws.close()

    slow_server.run(body)


def test_barge_in_cancels_and_truncate(slow_server):
    async def body(s):
        c = await s.connect()
        await c.session(**SERVER_VAD)
        await c.append(speech(0.5))
        await c.until("response.created")
        first = await c.until("response.output_audio.delta")
        item_id = first["item_id"]
        await c.append(speech(0.5, lead=0.0, tail=0.0))  # the user talks over the reply
        await c.until("input_audio_buffer.speech_started")
        done = await c.until("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "turn_detected"
        spoken = done["response"]["output"][0]["content"][0]["transcript"]
        assert spoken.startswith("word0") and len(spoken.split()) < 20
        # the client played the first word (100 ms) and half the next: the conversation keeps "word0"
        await c.send(type="conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=10_000)
        assert (await c.until("error"))["error"]["param"] == "audio_end_ms"  # more than was produced
        await c.send(type="conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=100)
        tr = await c.until("conversation.item.truncated")
        assert tr["audio_end_ms"] == 100
        await c.send(type="conversation.item.retrieve", item_id=item_id)
        got = await c.until("conversation.item.retrieved")
        assert got["item"]["content"][0]["transcript"] == "word0"
        await c.send(type="conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=50)
        await c.until("conversation.item.truncated")
        await c.send(type="response.create")
        await c.until("response.done")
        assert all(m.content != "word0" for m in s.engine.turns[-1].history)  # nothing heard, nothing kept
        await c.ws.close()

    slow_server.run(body)


def test_function_calling(server):
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }

    async def body(s):
        c = await s.connect()
        await c.session(tools=[tool], tool_choice="auto", **manual_mode())
        await c.send(
            type="conversation.item.create",
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        )
        await c.send(type="response.create")
        delta = await c.until("response.function_call_arguments.delta")
        args = await c.until("response.function_call_arguments.done")
        assert args["name"] == "get_weather" and json.loads(args["arguments"]) == {"city": "Paris"}
        assert delta["delta"] == args["arguments"]
        done = await c.until("response.done")
        assert done["response"]["output"][0]["type"] == "function_call"
        assert s.engine.turns[-1].tools[0]["function"]["name"] == "get_weather"
        await c.send(
            type="conversation.item.create",
            item={"type": "function_call_output", "call_id": args["call_id"], "output": '{"temp": 21}'},
        )
        await c.until("conversation.item.done")
        await c.send(type="response.create")
        done = await c.until("response.done")
        assert done["response"]["output"][0]["content"][0]["transcript"] == 'the tool said {"temp": 21}'
        hist = s.engine.turns[-1].history
        assert (hist[-2].role, hist[-2].tool_call_id) == ("assistant", args["call_id"])
        assert json.loads(hist[-2].content) == {"name": "get_weather", "arguments": {"city": "Paris"}}
        assert (hist[-1].role, hist[-1].content, hist[-1].name) == ("tool", '{"temp": 21}', "get_weather")
        await c.ws.close()

    server.run(body)


def test_item_delete_and_clear(server):
    async def body(s):
        c = await s.connect()
        await c.session(**manual_mode())
        await c.send(
            type="conversation.item.create",
            item={"id": "mine", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]},
        )
        await c.until("conversation.item.added")
        await c.send(type="conversation.item.delete", item_id="mine")
        assert (await c.until("conversation.item.deleted"))["item_id"] == "mine"
        await c.append(np.zeros(RATE, np.float32))
        await c.send(type="input_audio_buffer.clear")
        await c.until("input_audio_buffer.cleared")
        await c.send(type="input_audio_buffer.commit")
        assert (await c.until("error"))["error"]["code"] == "input_audio_buffer_commit_empty"
        await c.ws.close()

    server.run(body)
