"""Remembering: the SQLite safety memory, its rows, the history report and the transcript."""
