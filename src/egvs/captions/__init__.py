"""Captions for short clips: transcription with word times, cue layout, SRT/VTT files, burn-in.

Importing this package loads neither faster-whisper nor the font; they load on first use.
"""

from egvs.captions.layout import Cue, caption_cues, write_srt, write_vtt
from egvs.captions.paint import CaptionPainter, caption_picture
from egvs.captions.transcribe import Transcript, Word, transcribe

__all__ = [
    "CaptionPainter",
    "Cue",
    "Transcript",
    "Word",
    "caption_cues",
    "caption_picture",
    "transcribe",
    "write_srt",
    "write_vtt",
]
