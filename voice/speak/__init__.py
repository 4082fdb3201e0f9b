"""Speaking: text-to-speech, abortable playback, the speaker and its cues."""
