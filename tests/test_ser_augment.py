"""egvs.ser_training.augment: deterministic video-condition augmentation (generated signals only)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from egvs.ser_training import augment as A

SR = 16000


def _speechlike(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Voiced-ish bursts (harmonic buzz, syllable envelope) with real pauses between them."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 * (1 + 0.1 * np.sin(2 * np.pi * 1.3 * t))
    buzz = signal.sawtooth(2 * np.pi * np.cumsum(f0) / SR)
    buzz = signal.sosfilt(signal.butter(2, [300, 3000], "band", fs=SR, output="sos"), buzz)
    gate = (np.sin(2 * np.pi * 1.5 * t) > 0.2) * np.abs(np.sin(2 * np.pi * 4 * t))
    x = buzz * gate + 1e-4 * rng.standard_normal(len(t))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def _band_fraction(x: np.ndarray, lo: float, hi: float) -> float:
    f = np.fft.rfftfreq(len(x), 1 / SR)
    p = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    return float(p[(f >= lo) & (f < hi)].sum() / p.sum())


def _nontrivial_seeds(k: int) -> list[int]:
    """Seeds whose plan applies at least a bed and one more step."""
    out = []
    for s in range(1000):
        d = A.describe(s)
        if d["bed"] and (d["reverb"] or d["lowpass_hz"] or d["gain_db"] is not None):
            out.append(s)
        if len(out) == k:
            return out
    raise AssertionError("not enough seeds")


def test_same_seed_same_output_bitwise_and_seeds_differ() -> None:
    x = _speechlike()
    bank = A.NoiseBank([np.random.default_rng(1).standard_normal(SR)], names=["rec"])
    for seed in range(12):
        a, b = A.augment(x, seed, bank), A.augment(x.copy(), seed, bank)
        assert a.tobytes() == b.tobytes()
    outs = [A.augment(x, s) for s in _nontrivial_seeds(6)]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert not np.array_equal(outs[i], outs[j])


@pytest.mark.parametrize("n", [1, 100, 3000, 2 * SR + 17])
def test_length_dtype_and_range_preserved(n: int) -> None:
    x = _speechlike(3.0)[:n]
    x = x / (np.max(np.abs(x)) + 1e-12)  # peak 1: +6 dB gain and 0 dB beds push well past 1
    for seed in range(30):
        y = A.augment(x.astype(np.float64), seed)
        assert y.dtype == np.float32 and y.shape == (n,)
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
    assert A.augment(np.zeros(0, np.float32), 0).shape == (0,)


def test_every_step_occurs_and_output_stays_in_range() -> None:
    x = 0.9 * _speechlike(2.0) / 0.3
    seen = set()
    for seed in range(60):
        y, rec = A.augment_with_record(x, seed)
        assert np.max(np.abs(y)) <= 1.0
        seen |= {k for k in ("reverb", "bed", "lowpass_hz", "soft_clip_drive") if rec[k]}
        seen |= {"gain"} if rec["gain_db"] is not None else set()
        assert (rec["bed"] == "music") == ("music" in rec) and (rec["bed"] == "noise") == (
            "noise" in rec
        )
    assert seen == {"reverb", "bed", "lowpass_hz", "soft_clip_drive", "gain"}


@pytest.mark.parametrize("snr", A.SNR_CHOICES_DB)
def test_mix_at_snr_hits_the_requested_snr_on_the_active_part(snr: float) -> None:
    speech = _speechlike(3.0).astype(np.float64)
    noise = A.synth_noise("pink", len(speech), np.random.default_rng(3))
    mix = A.mix_at_snr(speech, noise, snr)
    bed = mix - speech
    assert abs(A.snr_db(speech, bed) - snr) < 1.0
    # Independently: speech power over its bursts only (known here), stationary noise's mean power.
    on = np.abs(speech) > 0
    gate = np.convolve(np.abs(speech) > 1e-3, np.ones(320), "same") > 0
    p_speech = np.mean(speech[gate & on] ** 2)
    assert abs(10 * np.log10(p_speech / np.mean(bed**2)) - snr) < 1.0
    # the pauses do not count: the active level is well above the whole-clip mean power
    assert A.active_power(speech) > 1.3 * np.mean(speech**2)


def test_mix_at_snr_edge_cases() -> None:
    x = _speechlike(1.0)
    with pytest.raises(ValueError):
        A.mix_at_snr(x, np.ones(10), 10.0)
    np.testing.assert_array_equal(A.mix_at_snr(x, np.zeros(len(x)), 0.0), x.astype(np.float64))


def _rt60_from_decay(y: np.ndarray, start: int) -> float:
    """RT60 from the Schroeder energy decay of ``y[start:]``, fitted between -5 and -25 dB."""
    tail = y[start:].astype(np.float64)
    edc = np.cumsum(tail[::-1] ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0] + 1e-30)
    a, b = np.argmax(edc_db < -5), np.argmax(edc_db < -25)
    t = np.arange(a, b) / SR
    slope = np.polyfit(t, edc_db[a:b], 1)[0]
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.2, 0.5, 0.9])
def test_reverb_decays_as_its_rt60_says(rt60: float) -> None:
    rng = np.random.default_rng(7)
    burst = np.zeros(int(2.0 * SR))
    end = int(0.3 * SR)
    burst[:end] = rng.standard_normal(end)
    y = A.reverberate(burst, rt60, np.random.default_rng(11), drr_db=0.0)
    assert y.shape == burst.shape
    assert abs(_rt60_from_decay(y, end + int(0.02 * SR)) / rt60 - 1) < 0.25
    # the impulse response itself: direct path kept, the tail energy as the DRR says
    rir = A.room_impulse_response(rt60, np.random.default_rng(5), drr_db=6.0)
    assert rir[0] == 1.0 and abs(10 * np.log10(1 / np.sum(rir[1:] ** 2)) - 6.0) < 1e-6
    assert abs(_rt60_from_decay(rir, 1) / rt60 - 1) < 0.25
    # active level is preserved, so the level step alone sets the loudness
    x = _speechlike(2.0)
    assert (
        abs(10 * np.log10(A.active_power(A.reverberate(x, rt60, rng)) / A.active_power(x))) < 0.01
    )


@pytest.mark.parametrize("cutoff", A.LOWPASS_CHOICES_HZ)
def test_band_limit_removes_energy_above_the_cutoff(cutoff: float) -> None:
    x = np.random.default_rng(0).standard_normal(4 * SR)
    y = A.band_limit(x, cutoff)
    assert y.shape == x.shape
    f, px = signal.welch(x, SR, nperseg=1024)
    _, py = signal.welch(y, SR, nperseg=1024)
    passband = f < 0.8 * cutoff
    assert np.all(np.abs(10 * np.log10(py[passband] / px[passband])) < 0.5)
    assert _band_fraction(y, cutoff, SR / 2) < 0.03  # only the transition band's edge remains
    above = f > 1.25 * cutoff
    if above.any():
        assert 10 * np.log10(py[above].sum() / px[above].sum()) < -35
    hp = A.band_limit(x, cutoff, highpass_hz=200.0)
    assert _band_fraction(hp, 0, 100) < 0.1 * _band_fraction(x, 0, 100)


def test_soft_clip_keeps_the_peak_and_limiter_bounds_the_output() -> None:
    x = _speechlike(2.0).astype(np.float64)
    c = A.soft_clip(x, 2.0)
    assert np.isclose(np.max(np.abs(c)), np.max(np.abs(x)))
    assert A.active_power(c) > A.active_power(x)  # quieter parts come up
    loud = 4.0 * x / np.max(np.abs(x))
    lim = A.peak_limit(loud)
    assert np.max(np.abs(lim)) <= A.LIMIT_CEILING + 1e-9
    quiet = np.abs(loud) < 0.1
    assert np.median(np.abs(lim[quiet] / np.where(quiet, loud, 1)[quiet])) > 0.2  # gain, not clip
    np.testing.assert_array_equal(A.peak_limit(0.5 * x), 0.5 * x)  # under the ceiling: untouched


@pytest.mark.parametrize("genre", A.GENRES)
def test_synth_music_is_musical_and_deterministic(genre: str) -> None:
    n = 6 * SR
    m = A.synth_music(n, np.random.default_rng(4), genre=genre)
    assert m.dtype == np.float32 and m.shape == (n,)
    assert np.array_equal(m, A.synth_music(n, np.random.default_rng(4), genre=genre))
    assert not np.array_equal(m, A.synth_music(n, np.random.default_rng(5), genre=genre))
    assert np.sqrt(np.mean(m.astype(np.float64) ** 2)) > 0.05 and np.max(np.abs(m)) <= 1.0
    assert _band_fraction(m, 30, 200) > 0.05  # bass line
    assert _band_fraction(m, 200, 4000) > 0.2  # chords
    assert _band_fraction(m, 0, 30) < 0.01
    if genre == "percussive":
        assert _band_fraction(m, 5000, SR / 2) > 1e-3  # hats
    # tonal: the spectrum is far from flat (harmonic peaks); pink noise scores ~0.7 here
    f, p = signal.welch(m, SR, nperseg=4096)
    band = (f > 100) & (f < 2000)
    flatness = np.exp(np.mean(np.log(p[band] + 1e-20))) / np.mean(p[band])
    assert flatness < (0.25 if genre == "percussive" else 0.1)  # drums are broadband
    # it changes over time (chords, notes): frame levels vary
    frames = m[: n // 1600 * 1600].reshape(-1, 1600).astype(np.float64)
    levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    assert np.ptp(levels) > 1.0


def test_synth_music_draws_genres_and_tempos() -> None:
    infos = [A._music(SR, np.random.default_rng(s), SR, None)[1] for s in range(30)]
    assert {i["genre"] for i in infos} == set(A.GENRES)
    bpms = [i["bpm"] for i in infos]
    assert min(bpms) >= 70 and max(bpms) <= 160 and np.ptp(bpms) > 40


@pytest.mark.parametrize("kind", A.SYNTHETIC_KINDS)
def test_synth_noise(kind: str) -> None:
    z = A.synth_noise(kind, 2 * SR, np.random.default_rng(0))
    assert z.dtype == np.float32 and z.shape == (2 * SR,) and np.all(np.isfinite(z))
    assert abs(np.sqrt(np.mean(z.astype(np.float64) ** 2)) - 1) < 1e-3
    assert np.array_equal(z, A.synth_noise(kind, 2 * SR, np.random.default_rng(0)))
    if kind == "hum":
        f, p = signal.welch(z, SR, nperseg=8192)
        peak = f[np.argmax(p)]
        assert min(abs(peak - k * base) for k in range(1, 8) for base in (50, 60)) < 3
    with pytest.raises(ValueError):
        A.synth_noise("rain", 10, np.random.default_rng(0))


def test_noise_bank_without_recordings_is_synthetic() -> None:
    bank = A.NoiseBank()
    assert len(bank) == 0
    kinds = set()
    for s in range(20):
        z, info = bank.draw(SR, np.random.default_rng(s))
        assert info["source"] == "synthetic" and z.shape == (SR,) and np.std(z) > 0
        kinds.add(info["kind"])
    assert kinds == set(A.SYNTHETIC_KINDS)
    with pytest.raises(ValueError):
        A.NoiseBank(synthetic=False)


def test_noise_bank_recordings_chain_drop_silence_and_mix() -> None:
    rng = np.random.default_rng(0)
    loud = 0.5 * rng.standard_normal(SR // 2)
    quiet = 0.01 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
    bank = A.NoiseBank([loud, np.zeros(SR), quiet, np.ones(10)], names=["a", "s", "b", "x"])
    assert len(bank) == 2 and bank.names == ["a", "b"]
    only = A.NoiseBank([loud, quiet], names=["a", "b"], synthetic=False)
    z, info = only.draw(3 * SR, np.random.default_rng(1))
    assert info["source"] == "recording" and len(info["names"]) >= 3  # chained to fill 3 s
    assert z.shape == (3 * SR,) and set(info["names"]) <= {"a", "b"}
    # each piece at the same active level: the quiet sine is not drowned by the loud noise
    frames = z.astype(np.float64)[: 3 * SR // 800 * 800].reshape(-1, 800)
    assert np.percentile(np.mean(frames**2, axis=1), 5) > 0.05
    mixed = {only.draw(SR, np.random.default_rng(s))[1]["source"] for s in range(10)}
    assert mixed == {"recording"}
    both = A.NoiseBank([loud, quiet], p_recording=0.5)
    sources = {both.draw(SR, np.random.default_rng(s))[1]["source"] for s in range(30)}
    assert sources == {"recording", "synthetic"}


def test_noise_bank_from_paths(tmp_path) -> None:
    sf = pytest.importorskip("soundfile")
    rng = np.random.default_rng(2)
    paths = []
    for i in range(3):
        p = tmp_path / f"noise{i}.wav"
        sf.write(p, 0.2 * rng.standard_normal(SR), SR)
        paths.append(p)
    sf.write(tmp_path / "silent.wav", np.zeros(SR), SR)
    x = _speechlike(2.0)
    for lazy in (False, True):
        bank = A.NoiseBank.from_paths([*paths, tmp_path / "silent.wav"], synthetic=False, lazy=lazy)
        z, info = bank.draw(2 * SR, np.random.default_rng(0))
        assert info["source"] == "recording" and "silent.wav" not in info["names"]
        assert z.shape == (2 * SR,)
        seed = next(s for s in range(100) if A.describe(s)["bed"] == "noise")
        y, rec = A.augment_with_record(x, seed, bank)
        assert rec["noise"]["source"] == "recording"
        assert np.array_equal(y, A.augment(x, seed, bank))
    # with every file usable, eager and lazy banks hold the same audio: same augmentations
    eager, lazy_bank = (A.NoiseBank.from_paths(paths, lazy=lz) for lz in (False, True))
    for seed in range(8):
        np.testing.assert_array_equal(A.augment(x, seed, eager), A.augment(x, seed, lazy_bank))
        assert (
            eager.draw(3 * SR, np.random.default_rng(seed))[1]
            == (lazy_bank.draw(3 * SR, np.random.default_rng(seed))[1])
        )


def test_describe_and_augment_many() -> None:
    x = _speechlike(1.0)
    d = A.describe(3)
    y, rec = A.augment_with_record(x, 3)
    assert d.items() <= rec.items() and not any(k.startswith("_") for k in d)
    json.dumps(rec)
    many = A.augment_many(x, 9, 4)
    assert len(many) == 4
    for i, v in enumerate(many):
        assert np.array_equal(v, A.augment(x, A.variant_seed(9, i)))
    assert len({A.variant_seed(s, i) for s in range(5) for i in range(5)}) == 25
