"""polyvox: offline, real-time, multilingual, emotion-aware speech-to-speech conversation on a CPU."""

from polyvox.errors import PolyvoxError

__version__ = "0.1.0"
__all__ = ["PolyvoxError", "__version__"]
