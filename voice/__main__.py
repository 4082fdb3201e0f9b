import sys

from voice.cli import main

# Guarded: the recognizer process (multiprocessing "spawn") imports this module again.
if __name__ == "__main__":
    sys.exit(main())
