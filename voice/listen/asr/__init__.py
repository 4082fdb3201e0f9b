"""Speech recognition: one small interface, with vosk, Whisper and pocketsphinx behind it.

Engines are imported lazily (`create_recognizer`), so importing this package is cheap.
"""

from voice.listen.asr.base import SAMPLE_RATE, Engine, Hypothesis, Recognizer, Word
from voice.listen.asr.engines import create_recognizer

__all__ = ["SAMPLE_RATE", "Engine", "Hypothesis", "Recognizer", "Word", "create_recognizer"]
