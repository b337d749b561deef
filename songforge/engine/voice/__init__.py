"""Singing voice: Festival phone timings and WORLD speech-to-singing.

``sing(lines, tempo_bpm=...)`` turns lyric lines with their melody notes into a dry vocal;
``speak(lines)`` is the Festival front end it uses (also used by ``lyrics.syllabify``).
"""

from songforge.engine.voice.festival import SpokenLine, festival_available, speak
from songforge.engine.voice.singer import SpeechCache, SungLine, SungVocal, VoiceProfile, sing

__all__ = [
    "sing",
    "SpeechCache",
    "SungLine",
    "SungVocal",
    "VoiceProfile",
    "speak",
    "SpokenLine",
    "festival_available",
]
