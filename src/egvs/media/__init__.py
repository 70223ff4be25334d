"""Media I/O: probe a file, stream sampled frames and 16 kHz audio out of it (PyAV/FFmpeg)."""

from egvs.media.probe import MediaInfo, probe

__all__ = ["MediaInfo", "probe"]
