"""Listening: voice activity, end of turn (Smart Turn + the server_vad / semantic_vad policy)."""
