"""EGVS's default speech-emotion model: Whisper-base encoder features + a trained numpy head.

``extractor()`` streams audio blocks into per-step pooled encoder features, a VAD score, the level
and a speaker embedding; ``predict()`` then finds the video's speakers (speaker turns from the
embeddings), normalises each speaker with at least `MIN_SPEAKER_SECONDS` of speech against that
speaker's own voiced baseline (as each speaker was in training: a naturally loud voice is not
"aroused") and everyone else against the video's, applies the head, and lets YAMNet veto voices
it does not hear under music or animal sounds, and cries and screams the VAD does not hear either.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import maximum_filter1d

from egvs.blas import one_blas_thread
from egvs.features.audio_blocks import AudioBlock
from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS, EmotionTrack
from egvs.model_files import packaged
from egvs.ser import backbone
from egvs.ser.classes import AROUSAL, OTHER, VALENCE
from egvs.ser.features import WINDOW_SECONDS, Featurizer
from egvs.ser.head import SerHead, baseline
from egvs.timeline import Timeline, fit_length

if TYPE_CHECKING:
    from egvs.ser.speaker import SpeakerEncoder

VOICED_LOW, VOICED_HIGH = 0.15, 0.5  # VAD score ramp from "no vote" to a full emotional vote
VOCAL_EMOTION = {"laughing": "happy", "crying": "sad", "screaming": "fearful"}
NON_VOICE_EVENTS = ("music", "animal")  # YAMNet sounds under which a voice needs confirming
NON_VOICE_MASK = 0.2  # ... from this probability
HUMAN_EVENTS = ("speech", "laughter", "crying", "screaming", "shouting")
HUMAN_CONFIRM = 0.1  # YAMNet human-sound probability that fully confirms a voice there
HEARD_VOICE = (0.3, 0.7)  # YAMNet human-voice probability ramp from "no voice" to "surely a voice"
VOCAL_EVENTS = ("laughter", "crying", "screaming")  # YAMNet's nonverbal vocalizations
HEARD_VOCALIZATION = (0.05, 0.2)  # ... their ramp (maximum over `TAGGER_SPAN` steps)
# YAMNet probability of the same sound that fully confirms a cry or scream the VAD does not hear
VOCAL_CONFIRM = 0.1
CONFIRMED_VOCALIZATIONS = ("crying", "screaming")  # head classes, named as YAMNet's events
TAGGER_SPAN = 3  # steps a tagger probability is spread over: YAMNet's ~1 s frames straddle steps
# The head's own scream over a bed: its arousal and P(screaming) ramps (no vote .. full vote)
HEARD_SCREAM_AROUSAL = (0.9, 0.97)
HEARD_SCREAM = (0.2, 0.4)
SIREN_HEARD = (0.1, 0.3)  # YAMNet siren/car-alarm probability ramp that takes that vote away
SOUND_FLOOR_DB = -50.0  # steps quieter than this (dBFS) hold no vocalization; -40 dB and up fully
MIN_SPEAKER_SECONDS = 60.0  # less speech than this: the speaker is judged against the whole video
SPEAKER_SHRINK_SECONDS = 30.0  # pseudo-speech pulling a speaker's baseline towards the video's


def shipped_head_path() -> Path:
    return packaged("ser-head")


class SerExtractor:
    """The streamed part: per-step ``ser`` features, ``voiced``, level and speaker embedding."""

    name = "ser"

    def __init__(self, model: WhisperEmotionModel) -> None:
        self._model = model

    def config(self) -> dict:
        """Backbone, window and speaker encoder only: a new head reuses the cached features."""
        return {
            "features": "whisper-ser",
            "v": 3,
            "window": self._model.window,
            "speaker": self._model.speaker_encoder.config(),
            **backbone.config(),
        }

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
        # One BLAS thread: the LSTM's and the log-mel's small products only spin a second
        # thread (measured 2.5 CPU-s per audio minute instead of 1.1), and the pipeline's video
        # stage has the other core.
        with one_blas_thread():
            out = self._model.featurizer.block(block, self._model.window)
            emb = self._model.speaker_encoder.embed_steps(block, out["ser.voiced"])
        out["ser.speaker"] = emb.astype(np.float16)
        return out


class WhisperEmotionModel:
    """`SpeechEmotionModel` over Whisper-base encoder features and a `SerHead`."""

    name = "whisper-ser"

    def __init__(self, head_path: Path | None = None, window: float = WINDOW_SECONDS) -> None:
        self.head_path = Path(head_path) if head_path else shipped_head_path()
        self.head = SerHead.load(self.head_path)
        self.window = window

    @cached_property
    def featurizer(self) -> Featurizer:
        """Loaded on first use: the encoder takes ~2 s to load."""
        return Featurizer()

    @cached_property
    def speaker_encoder(self) -> SpeakerEncoder:
        """Resemblyzer's voice encoder; its weights load on first use."""
        from egvs.ser.speaker import SpeakerEncoder

        return SpeakerEncoder()

    def config(self) -> dict:
        digest = hashlib.sha256(self.head_path.read_bytes()).hexdigest()[:16]
        return {"model": self.name, "head": digest, "window": self.window, **backbone.config()}

    def extractor(self) -> SerExtractor:
        return SerExtractor(self)

    def normalise(
        self, feats: np.ndarray, voiced: np.ndarray, speakers: np.ndarray, step: float
    ) -> np.ndarray:
        """Features z-scored per speaker (own voiced baseline, shrunk towards the video's).

        The video's baseline is its voiced steps' statistics, shrunk towards the training
        corpora's; steps without a speaker, and speakers with under `MIN_SPEAKER_SECONDS` of
        speech, are judged against it. A video without voice falls back to the global statistics
        (non-voice sound is never its own baseline).
        """
        x = self.head.inputs(feats).astype(np.float32)
        vm, vs = baseline(x[voiced >= VOICED_HIGH], self.head.mean, self.head.std)
        z = (x - vm) / vs
        shrink = SPEAKER_SHRINK_SECONDS / step
        for s in np.unique(speakers[speakers >= 0]):
            own = (speakers == s) & (voiced >= VOICED_HIGH)
            if own.sum() * step < MIN_SPEAKER_SECONDS:
                continue
            sm, ss = baseline(x[own], vm, vs, shrink)
            z[speakers == s] = (x[speakers == s] - sm) / ss
        return z

    def outputs(
        self, feats: np.ndarray, voiced: np.ndarray, speakers: np.ndarray, step: float
    ) -> dict[str, np.ndarray]:
        """Each head task's probabilities per step (emotion, and arousal/valence if trained)."""
        z = self.normalise(feats, voiced, speakers, step)
        return self.head.outputs(z)

    def predict(self, features: dict[str, np.ndarray], timeline: Timeline) -> EmotionTrack:
        n = timeline.grid.n_steps
        step = timeline.grid.step
        feats = fit_length(features["ser.features"], n)
        voiced = np.clip(fit_length(features["ser.voiced"], n).astype(np.float32), 0, 1)
        level = fit_length(features.get("ser.level", np.zeros(n)), n)
        if "ser.speaker" in features:
            from egvs.ser.speaker import assign_speakers

            emb = fit_length(features["ser.speaker"], n).astype(np.float32)
            speakers = assign_speakers(emb, voiced, step)
        else:
            speakers = np.where(voiced >= VOICED_HIGH, 0, -1)
        out = self.outputs(feats, voiced, speakers, step)
        arousal = out["arousal"][:, 1] if "arousal" in out else None
        return to_track(
            out["emotion"],
            self.head.classes,
            voiced,
            level,
            arousal=arousal,
            valence=out["valence"][:, 2] - out["valence"][:, 0] if "valence" in out else None,
            speakers=speakers,
            confirm=tagger_confirmation(timeline),
            heard=tagger_voice(timeline),
            vocal_heard=tagger_vocalizations(timeline) if "events" in features else None,
            screamed=head_scream(
                out["emotion"], self.head.classes, level, arousal, tagger_sirens(timeline)
            ),
        )


def tagger_confirmation(timeline: Timeline) -> np.ndarray:
    """How far the sound tagger lets a step count as a voice (1 = no objection).

    Where YAMNet hears music or an animal (probability >= `NON_VOICE_MASK`), a sustained tone or
    a creature's call can sound like a cry or a voice to the speech models (silero-vad fires on
    singing-like music, infant cries are tonal wails), so there a voice must also be heard by
    YAMNet: speech, laughter, crying, screaming or shouting, scaled to full confidence at
    `HUMAN_CONFIRM`. Elsewhere the speech models decide alone: YAMNet misses quiet voices more
    often than they do.
    """
    n = timeline.n_steps
    if not all(f"event.{e}" in timeline.signals for e in NON_VOICE_EVENTS):
        return np.ones(n, dtype=np.float32)
    human = maximum_filter1d(_strongest(timeline, HUMAN_EVENTS), TAGGER_SPAN)
    other = maximum_filter1d(_strongest(timeline, NON_VOICE_EVENTS), TAGGER_SPAN)
    confirmed = _ramp(human, 0.0, HUMAN_CONFIRM)
    return np.where(other < NON_VOICE_MASK, 1.0, confirmed).astype(np.float32)


def tagger_voice(timeline: Timeline) -> np.ndarray:
    """How surely the sound tagger hears a human voice at each step (0..1), for silero-vad's misses.

    silero-vad misses shouted and strained speech: a held-out actor's angry outburst at -20 dBFS
    scored 0.0-0.15 while YAMNet heard speech at 0.8-1.0. And the head calls some cries of
    speakers it never heard ``other`` (P 0.99 on a held-out infant's cry YAMNet calls crying at
    0.95). Where YAMNet surely hears a human voice, the step counts as voiced whatever the VAD
    and the head's ``other`` say; the music/animal veto (`tagger_confirmation`) still applies.

    YAMNet's laughter, crying and screaming classes count from far lower probabilities
    (`HEARD_VOCALIZATION`, over about 1.5 s): a held-out speaker's scream under a drill, or an
    infant's cry, reads ``other`` to the head (P 0.8-1.0) while those classes reach only
    0.1-0.5, and seldom rise above 0.05 without a human vocalization (docs/speech_emotion.md,
    "Vocalizations the tagger hears").
    """
    voice = _ramp(_strongest(timeline, HUMAN_EVENTS), *HEARD_VOICE)
    vocal = maximum_filter1d(_strongest(timeline, VOCAL_EVENTS), TAGGER_SPAN)
    return np.maximum(voice, _ramp(vocal, *HEARD_VOCALIZATION)).astype(np.float32)


def tagger_vocalizations(timeline: Timeline) -> dict[str, np.ndarray]:
    """How far the sound tagger confirms each head class of `CONFIRMED_VOCALIZATIONS` at each
    step (0..1; full from `VOCAL_CONFIRM`, over about 1.5 s).

    The head learned crying mostly from Donate-a-Cry's phone recordings, noisy ones, and calls
    loud broadband effects a cry: the Tears of Steel battle clip's explosions and whines read
    "crying voice 0.94-1.00" (their nearest training clips are Donate-a-Cry cries and
    UrbanSound8K sounds), as did a cartoon yawn in Big Buck Bunny. YAMNet hears real cries: its
    crying classes peak at 0.68-0.99 in each cry of the moments benchmark, under beds too, and
    confirm 21-74% of their steps; on those two clips they stay under 0.01. Likewise the head
    calls sirens screams ("screaming voice 0.73-0.89" on held-out UrbanSound8K sirens), which
    YAMNet does not. So a cry or scream that neither the VAD nor YAMNet hears goes to ``other``
    (`to_track`).
    """
    return {
        vocal: _ramp(
            maximum_filter1d(timeline.signal(f"event.{vocal}"), TAGGER_SPAN), 0.0, VOCAL_CONFIRM
        ).astype(np.float32)
        for vocal in CONFIRMED_VOCALIZATIONS
    }


def tagger_sirens(timeline: Timeline) -> np.ndarray:
    """How surely the sound tagger hears a siren or car alarm at each step (0..1, over about
    1.5 s; `SIREN_HEARD`): the wail the head takes for a scream."""
    siren = timeline.signal("event.siren", default=0.0)
    return _ramp(maximum_filter1d(siren, TAGGER_SPAN), *SIREN_HEARD).astype(np.float32)


def head_scream(
    p: np.ndarray,
    classes: tuple[str, ...],
    level: np.ndarray,
    arousal: np.ndarray | None,
    sirens: np.ndarray,
) -> np.ndarray | None:
    """How surely the head itself hears a scream at each step (0..1; None: it cannot tell).

    A scream under a music or noise bed escapes the sound tagger: in the moments benchmark's
    multi-speaker videos YAMNet's screaming class fell from 0.3-0.7 without the bed to
    0.01-0.09 with it, and its music class (0.95) then vetoed the step, while the head, trained
    with noise under its voices, still read P(screaming) 0.4-0.55 at arousal 0.96-1.0. So an
    audible step that the head calls both very aroused (`HEARD_SCREAM_AROUSAL`) and a scream
    (`HEARD_SCREAM`) counts as heard, under a bed too, unless the tagger hears a siren there
    (``sirens``, `tagger_sirens`): the head calls sirens screams, and YAMNet knows sirens well
    (0.5-0.8 on every held-out UrbanSound8K siren step the rule would otherwise open).
    """
    if arousal is None or "screaming" not in classes:
        return None
    scream = _ramp(p[:, classes.index("screaming")], *HEARD_SCREAM)
    return _audible(level) * _ramp(arousal, *HEARD_SCREAM_AROUSAL) * scream * (1.0 - sirens)


def _strongest(timeline: Timeline, events: tuple[str, ...]) -> np.ndarray:
    """Per step, the highest tagger probability among ``events`` (0 where the tagger did not run)."""
    return np.max([timeline.signal(f"event.{e}", default=0.0) for e in events], axis=0)


def _audible(level: np.ndarray) -> np.ndarray:
    """How audible each step is (0..1) from its level in dBFS: none at `SOUND_FLOOR_DB`, fully
    10 dB above."""
    return _ramp(level, SOUND_FLOOR_DB, SOUND_FLOOR_DB + 10.0)


def _vote(voiced: np.ndarray) -> np.ndarray:
    """A step's emotional vote (0..1) from how surely it is voiced (`VOICED_LOW`..`VOICED_HIGH`)."""
    return _ramp(voiced, VOICED_LOW, VOICED_HIGH)


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 up to ``lo``, 1 from ``hi``, linear between."""
    return np.clip((x - lo) / (hi - lo), 0, 1)


def to_track(
    p: np.ndarray,
    classes: tuple[str, ...],
    voiced: np.ndarray,
    level: np.ndarray | None = None,
    arousal: np.ndarray | None = None,
    valence: np.ndarray | None = None,
    speakers: np.ndarray | None = None,
    confirm: np.ndarray | None = None,
    heard: np.ndarray | None = None,
    vocal_heard: dict[str, np.ndarray] | None = None,
    screamed: np.ndarray | None = None,
) -> EmotionTrack:
    """Map head outputs onto the canonical track; steps without voice fade to a neutral no-vote.

    The VAD rejects nonverbal vocalizations, so a step also counts as voiced when it is audible
    (``level`` in dBFS above `SOUND_FLOOR_DB`) and the head calls it a laugh, cry or scream; a
    step the head calls ``other`` (no emotional voice: music, a dog, an engine, a cough) loses
    its vote in proportion, unless the sound tagger surely hears a human voice there (``heard``,
    see `tagger_voice`); and a step the tagger does not confirm under music or animal sounds
    (``confirm``, see `tagger_confirmation`) loses it too. Where the VAD hears no voice, the
    head's crying and screaming count only as far as the tagger confirms them
    (``vocal_heard``, see `tagger_vocalizations`); the rest is ``other``. A scream the head
    itself hears (``screamed``, see `head_scream`) counts as heard, confirmed and a scream, even
    where the tagger misses it under a bed. ``arousal`` and ``valence`` come from the head's own
    tasks where it has them, otherwise from fixed per-class values.
    """
    col = {c: i for i, c in enumerate(classes)}
    if screamed is not None:
        heard = screamed if heard is None else np.maximum(heard, screamed)
        confirm = None if confirm is None else np.maximum(confirm, screamed)
        if vocal_heard and "screaming" in vocal_heard:
            vocal_heard = {
                **vocal_heard,
                "screaming": np.maximum(vocal_heard["screaming"], screamed),
            }
    if vocal_heard and OTHER in col:
        p, vad_vote = p.copy(), _vote(voiced)
        for head_class, heard_there in vocal_heard.items():
            if head_class in col:
                unheard = p[:, col[head_class]] * (1.0 - np.maximum(heard_there, vad_vote))
                p[:, col[head_class]] -= unheard
                p[:, col[OTHER]] += unheard
    probs = np.stack([p[:, col[c]] if c in col else np.zeros(len(p)) for c in EMOTION_CLASSES], 1)
    if "boredom" in col:  # boredom is a low-arousal, neutral-like state
        probs[:, EMOTION_CLASSES.index("neutral")] += p[:, col["boredom"]]
    for vocal_class, emotion in VOCAL_EMOTION.items():  # a laugh is also a happy moment, etc.
        if vocal_class in col:
            probs[:, EMOTION_CLASSES.index(emotion)] += p[:, col[vocal_class]]
    vocal = np.stack([p[:, col[c]] if c in col else np.zeros(len(p)) for c in VOCALIZATIONS], 1)
    if arousal is None:
        arousal = p @ np.array([AROUSAL[c] for c in classes])
    if valence is None:
        valence = p @ np.array([VALENCE[c] for c in classes])
    probs /= np.maximum(probs.sum(1, keepdims=True), 1e-9)
    if level is not None:
        audible = _audible(level)
        voiced = np.maximum(voiced, audible * vocal.sum(1))
    if OTHER in col:
        voiced = voiced * (1.0 - p[:, col[OTHER]])
    if heard is not None:
        voiced = np.maximum(voiced, heard)
    if confirm is not None:
        voiced = voiced * confirm
    gate = _vote(voiced)[:, None]
    neutral = np.eye(len(EMOTION_CLASSES))[EMOTION_CLASSES.index("neutral")]
    return EmotionTrack(
        probs=(gate * probs + (1 - gate) * neutral).astype(np.float32),
        arousal=(gate[:, 0] * arousal).astype(np.float32),
        valence=(gate[:, 0] * valence).astype(np.float32),
        vocalizations=(gate * vocal).astype(np.float32),
        voiced=voiced.astype(np.float32),
        speakers=speakers,
    )
