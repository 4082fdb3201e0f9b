"""Listening: audio input, the echo gate and the speech recognizers."""
