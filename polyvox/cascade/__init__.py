"""The cascade engine: VAD → ASR (faster-whisper) → LLM (llama.cpp) → TTS (Kokoro / espeak-ng)."""
