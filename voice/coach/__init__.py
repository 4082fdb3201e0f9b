"""The coach: pure decisions (dialogue, safety rules, lines, plan), routines and grammar; no I/O."""
