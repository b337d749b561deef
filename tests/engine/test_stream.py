"""Songs made block by block: the blockwise master equals the one-block master, the streamed
pieces are the file, the same seed gives the same bytes, loudness and true peak hold."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine.evaluate import integrated_lufs, true_peak_dbtp
from songforge.engine.stream import MixPlan, StreamMixer, block_ends, vocal_activity
from songforge.models import SongRequest

RATE_HZ = 48000
ROLES = {"drums": "drums", "bass": "bass", "chords": "chords", "pad": "pad", "lead": "lead", "vocals": "vocal"}


def _stems(seconds: float) -> dict[str, np.ndarray]:
    """Noise bursts and tones with loud peaks (so the compressors and the limiter work)."""
    rng = np.random.default_rng(5)
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    bursts = (np.sin(2 * np.pi * 1.7 * t) > 0.3).astype(np.float32)[:, None]
    stems = {}
    for k, name in enumerate(ROLES):
        tone = np.sin(2 * np.pi * (110.0 * (k + 1)) * t).astype(np.float32)[:, None]
        noise = rng.standard_normal((n, 2)).astype(np.float32)
        stems[name] = (0.2 * tone + 0.1 * noise) * bursts * np.float32(0.5 + 0.3 * k)
    return stems


def _plan(seconds: float) -> MixPlan:
    frames = int(seconds * 100) + 2
    sung = [(a, a + 0.8) for a in np.arange(1.0, seconds - 1.0, 2.3)]
    from songforge.engine.stream import _carve_envelope

    return MixPlan(roles=ROLES, gains_db={name: -3.0 for name in ROLES}, vocal_lufs=-20.0, trim_db=-2.0,
                   master_gain_db=9.0, carve=_carve_envelope(vocal_activity(sung, n_frames=frames)),
                   style_mix={"drive_db": 2.0})


def _mix(stems: dict[str, np.ndarray], ends: list[int], plan: MixPlan, **options: bool) -> np.ndarray:
    n = next(iter(stems.values())).shape[0]
    mixer = StreamMixer(plan, n_samples=n, sample_rate_hz=RATE_HZ, **options)
    out, start = [], 0
    for k, end in enumerate(ends):
        out.append(mixer.feed({name: a[start:end] for name, a in stems.items()}, last=k == len(ends) - 1))
        start = end
    return np.concatenate(out)


def test_blockwise_master_equals_the_one_block_master():
    seconds = 12.0
    stems, plan = _stems(seconds), _plan(seconds)
    n = int(seconds * RATE_HZ)
    whole = _mix(stems, [n], plan)
    blocks = _mix(stems, block_ends(n, sample_rate_hz=RATE_HZ, first_s=1.5, block_s=2.0), plan)
    odd = _mix(stems, [4801, 5000, 77777, 200000, 350001, n], plan)  # edges anywhere, a block under the latency
    assert whole.shape == blocks.shape == odd.shape == (n, 2)
    assert float(np.max(np.abs(whole))) > 0.5  # loud enough that the limiter works
    for other in (blocks, odd):
        diff_db = 20 * np.log10(float(np.max(np.abs(other - whole))) / float(np.max(np.abs(whole))) + 1e-12)
        assert diff_db < -60.0


def test_one_send_bus_returns_what_a_reverb_and_delay_per_stem_do():
    """Reverb and delay are linear and the same for every stem: one bus fed the summed sends
    returns the sum of one reverb and one delay per stem, to float rounding (the float32 combs)."""
    from songforge.engine.stream import _SendBus, _StemChain

    seconds = 8.0
    stems, plan = _stems(seconds), _plan(seconds)
    n = int(seconds * RATE_HZ)
    chains = [_StemChain(name, plan=plan, n_samples=n, sample_rate_hz=RATE_HZ, own_sends=True) for name in stems]
    bus = _SendBus(plan=plan, n_samples=n, sample_rate_hz=RATE_HZ)
    start = 0
    ends = block_ends(n, sample_rate_hz=RATE_HZ, first_s=1.5, block_s=2.0)
    for k, end in enumerate(ends):
        for chain in chains:
            chain.feed(stems[chain.name][start:end], last=k == len(ends) - 1)
        bus.feed_chains(chains, last=k == len(ends) - 1)
        start = end
    own = sum(chain.take(n)[1] for chain in chains)
    shared = bus.out.take(n)
    assert shared.shape == own.shape == (n, 2)
    peak = float(np.max(np.abs(own)))
    assert peak > 0.01  # the returns are there
    assert 20 * np.log10(float(np.max(np.abs(shared - own))) / peak) < -90.0


def test_kept_stems_do_not_change_the_master():
    seconds = 6.0
    stems, plan = _stems(seconds), _plan(seconds)
    n = int(seconds * RATE_HZ)
    ends = block_ends(n, sample_rate_hz=RATE_HZ, first_s=1.5, block_s=2.0)
    assert np.array_equal(_mix(stems, ends, plan, keep_stems=True), _mix(stems, ends, plan))


def test_limiter_holds_the_ceiling_across_block_edges():
    seconds = 6.0
    stems, plan = _stems(seconds), _plan(seconds)
    n = int(seconds * RATE_HZ)
    out = _mix(stems, block_ends(n, sample_rate_hz=RATE_HZ, first_s=0.5, block_s=0.7), plan)
    assert true_peak_dbtp(out, RATE_HZ) <= -1.0 + 0.05
    assert float(np.max(np.abs(out))) < 1.0


def test_vocal_activity_covers_consonants_and_release():
    active = vocal_activity([(1.0, 2.0)], n_frames=400)
    on = np.flatnonzero(active)
    assert on[0] == 85 and on[-1] == 209  # 0.15 s before the note, 0.1 s after


@pytest.fixture(scope="module")
def sung_song():
    from songforge.engine.song import make_song

    chunks: list[bytes] = []
    request = SongRequest(prompt="upbeat pop song with piano", lyrics="[verse]\nwe walk the bright streets tonight\n"
                          "the city hums along with us\n[chorus]\nsing it loud sing it now\nall the lights come round",
                          duration_s=30.0, seed=11, format="mp3")
    result = make_song(request, preset="tiny", on_chunk=chunks.append)
    return request, result, chunks


@pytest.mark.heavy
def test_streamed_pieces_are_the_file_and_the_same_seed_gives_the_same_bytes(sung_song):
    from songforge.engine.song import make_song

    request, result, chunks = sung_song
    assert len(chunks) >= 5  # block by block, not at the end
    assert b"".join(chunks) == result.encoded
    again = make_song(request, preset="tiny", keep_stems=False)
    assert again.encoded == result.encoded
    assert again.stems == {} and set(result.stems) == {p.name for p in result.score.parts}


@pytest.mark.heavy
def test_streamed_song_is_mastered_and_sung(sung_song):
    _, result, _ = sung_song
    assert true_peak_dbtp(result.audio, RATE_HZ) <= -1.0
    assert abs(integrated_lufs(result.audio, RATE_HZ) - (-14.0)) <= 1.0
    assert result.lines and [line.text for line in result.lines][:2] == [
        "we walk the bright streets tonight", "the city hums along with us"]
    assert result.timings_s["first_chunk"] < result.timings_s["total"]
    vocal_rms = float(np.sqrt(np.mean(result.dry_vocals ** 2)))
    assert vocal_rms > 1e-3
