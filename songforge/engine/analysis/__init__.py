"""The parts of reference-audio analysis; :mod:`songforge.engine.analyze` puts them together.

- :mod:`.signal`: the shared mono 22.05 kHz signal and its frame features.
- :mod:`.rhythm`: tempo, beats, meter and downbeat phase (librosa).
- :mod:`.harmony`: key (Krumhansl-Kessler profiles) and maj/min triad chords (chroma templates).
- :mod:`.structure`: section boundaries (novelty on beat-synchronous features), silence, labels.
- :mod:`.melody`: notes by basic-pitch (ONNX), the vocal line, vocal presence and range.
- :mod:`.lyrics`: Whisper transcription of the sung stretches, tagged by section.
"""

__all__: list[str] = []
