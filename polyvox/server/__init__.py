"""polyvox's OpenAI-Realtime-compatible server (`polyvox serve`): WebSocket at /v1/realtime, a browser page at /.

Needs the `server` extra (fastapi, uvicorn, websockets, openai); importing without it raises an error that
names the install command.
"""

from polyvox.errors import require

for _module in ("fastapi", "uvicorn", "openai"):
    require(_module, "polyvox serve", "server")

from polyvox.server.app import ServerOptions, create_app  # noqa: E402 - after the extra check
from polyvox.server.config import Limits  # noqa: E402

__all__ = ["Limits", "ServerOptions", "create_app"]
