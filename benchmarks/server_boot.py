"""Server boot and protocol overhead: time to /healthz, to session.created, and one turn's first audio.

    python benchmarks/server_boot.py                 # the deterministic ScriptedEngine (protocol overhead only)
    python benchmarks/server_boot.py --engine cascade  # the real cascade engine (model load + a spoken turn)

Prints one JSON object (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
import urllib.request

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("scripted", "cascade", "unified"), default="scripted")
    args = ap.parse_args()

    import websockets

    from polyvox.server import ServerOptions, create_app
    from polyvox.server.commands import engine_factory
    from polyvox.server.testing import ScriptedEngine, running_server

    t0 = time.perf_counter()
    factory = ScriptedEngine if args.engine == "scripted" else engine_factory(args.engine)
    app = create_app(factory, ServerOptions())
    result: dict[str, float | str] = {"engine": args.engine}
    with running_server(app) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            health = json.loads(r.read())
        result["healthz_ms"] = (time.perf_counter() - t0) * 1000
        result["vad"] = health["vad"]

        async def turn() -> None:
            t1 = time.perf_counter()
            async with websockets.connect(f"ws://127.0.0.1:{port}/v1/realtime?model=polyvox", max_size=None) as ws:
                assert json.loads(await ws.recv())["type"] == "session.created"
                result["session_created_ms"] = (time.perf_counter() - t1) * 1000
                if args.engine == "scripted":
                    audio = (0.3 * np.sin(2 * np.pi * 300 * np.arange(12000) / 24000) * 32767).astype("<i2")
                    payload = {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio.tobytes()).decode()}
                    await ws.send(json.dumps(payload))
                    await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
                else:
                    text = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}
                    await ws.send(json.dumps({"type": "conversation.item.create", "item": text}))
                t2 = time.perf_counter()
                await ws.send(json.dumps({"type": "response.create"}))
                while True:
                    ev = json.loads(await ws.recv())
                    if ev["type"] == "response.output_audio.delta" and "first_audio_ms" not in result:
                        result["first_audio_ms"] = (time.perf_counter() - t2) * 1000
                    if ev["type"] == "response.done":
                        result["response_done_ms"] = (time.perf_counter() - t2) * 1000
                        break

        asyncio.run(turn())
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
