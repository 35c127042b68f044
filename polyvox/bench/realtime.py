"""A Target for any OpenAI-Realtime-compatible endpoint (polyvox serve, OpenAI, ...), over plain websockets.

Each session connects, waits for `session.created`, switches to manual turns (turn_detection: null)
and sets instructions/tools. A user turn is sent as pcm16 24 kHz `input_audio_buffer.append` chunks,
then `commit` + `response.create`; the clock starts at `response.create` (the end of user speech for
a client that endpoints locally) and stops at the first `response.output_audio.delta`.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, float_to_pcm16, resample
from polyvox.bench.core import Reply, SessionConfig, ToolCallInfo
from polyvox.bench.targets import Session, Target

CHUNK_MS = 100  # audio per input_audio_buffer.append (4.8 kB of pcm16)


class RealtimeError(RuntimeError):
    """The endpoint sent an `error` event or a failed response."""


def realtime_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Chat-completions tool {"type": "function", "function": {...}} -> Realtime's flat form."""
    fn = tool.get("function", tool)
    return {
        "type": "function",
        "name": fn["name"],
        "description": fn.get("description", ""),
        "parameters": fn.get("parameters", {"type": "object", "properties": {}}),
    }


class RealtimeTarget(Target):
    """ws(s)://HOST/v1/realtime[?model=...] with an optional bearer API key."""

    kind = "realtime"

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 300.0, name: str | None = None) -> None:
        self.url, self.api_key, self.timeout_s = url, api_key, timeout_s
        self.name = name or url.split("//", 1)[-1].split("/", 1)[0]

    def open(self, config: SessionConfig) -> Session:
        if config.live:
            from polyvox.bench.live import LiveRealtimeSession

            return LiveRealtimeSession(self.url, self.api_key, config, {"type": config.live})
        return RealtimeSession(self, config)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "url": self.url}


class RealtimeSession(Session):
    def __init__(self, target: RealtimeTarget, config: SessionConfig) -> None:
        from websockets.sync.client import connect

        self.timeout_s = target.timeout_s
        headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
        t0 = time.perf_counter()
        # entered as a context manager (websockets >= 17.1 deprecates the bare form); left in close()
        self.ws = connect(target.url, additional_headers=headers, max_size=None, open_timeout=30).__enter__()
        self.connect_ms = (time.perf_counter() - t0) * 1000
        self._until("session.created")
        session: dict[str, Any] = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        if config.instructions is not None:
            session["instructions"] = config.instructions
        if config.tools:
            session["tools"] = [realtime_tool(t) for t in config.tools]
            session["tool_choice"] = "auto"
        session["max_output_tokens"] = config.max_reply_tokens
        self._send(type="session.update", session=session)
        self._until("session.updated")
        self.ready_ms = (time.perf_counter() - t0) * 1000  # connect -> session ready

    # -- wire ---------------------------------------------------------------------------------------
    def _send(self, **event: Any) -> None:
        self.ws.send(json.dumps(event))

    def _recv(self, deadline: float) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply from the endpoint within {self.timeout_s:.0f} s")
        ev = json.loads(self.ws.recv(timeout=left))
        if ev.get("type") == "error":
            err = ev.get("error") or {}
            raise RealtimeError(f"{err.get('code')}: {err.get('message')}")
        return ev

    def _until(self, kind: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            ev = self._recv(deadline)
            if ev.get("type") == kind:
                return ev

    def _response(self) -> Reply:
        """Send response.create and collect everything up to response.done."""
        self._send(type="response.create")
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s
        first: float | None = None
        pcm: list[bytes] = []
        text, heard, calls, trace = "", "", [], {}
        while True:
            ev = self._recv(deadline)
            kind = ev.get("type")
            if kind == "response.output_audio.delta":
                if first is None:
                    first = (time.perf_counter() - t0) * 1000
                pcm.append(base64.b64decode(ev["delta"]))
            elif kind in ("response.output_audio_transcript.done", "response.output_text.done"):
                text += ev.get("transcript", ev.get("text", ""))
            elif kind == "conversation.item.input_audio_transcription.completed":
                heard = ev.get("transcript", "")
            elif kind == "response.function_call_arguments.done":
                calls.append(ToolCallInfo(ev["call_id"], ev["name"], ev.get("arguments", "{}")))
            elif kind == "response.done":
                resp = ev.get("response") or {}
                if resp.get("status") == "failed":
                    raise RealtimeError(f"response failed: {json.dumps(resp.get('status_details'))[:300]}")
                trace = dict(resp.get("metadata") or {})
                break
        total = (time.perf_counter() - t0) * 1000
        raw = b"".join(pcm)
        audio = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        return Reply(text.strip(), audio, OUTPUT_SAMPLE_RATE, heard, first, total, calls, trace)

    # -- Session ------------------------------------------------------------------------------------
    def say(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Reply:
        x = resample(np.asarray(audio, np.float32), sample_rate, OUTPUT_SAMPLE_RATE)
        n = OUTPUT_SAMPLE_RATE * CHUNK_MS // 1000
        for i in range(0, len(x), n):
            self._send(type="input_audio_buffer.append", audio=base64.b64encode(float_to_pcm16(x[i : i + n])).decode())
        self._send(type="input_audio_buffer.commit")
        self._until("input_audio_buffer.committed")
        return self._response()

    def tool_output(self, call_id: str, name: str, output: str) -> None:
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        self._send(type="conversation.item.create", item=item)
        self._until("conversation.item.done")

    def respond(self) -> Reply:
        return self._response()

    def close(self) -> None:
        self.ws.close()
