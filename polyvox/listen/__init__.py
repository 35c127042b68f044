"""Listening: voice activity (vad), the end of a turn (endpoint, smart_turn), in one place for every front end."""
