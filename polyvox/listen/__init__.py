"""Listening: voice activity, end of turn and the streaming transcript, in one place for every front end."""
