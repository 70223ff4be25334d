"""Shots: Kernel Temporal Segmentation on visual features, refined with the audio."""

from egvs.shots.kts import kts_segments
from egvs.shots.refine import refine_shots, snap_edges, snap_to_keyframes, trim_dead_air

__all__ = ["kts_segments", "refine_shots", "snap_edges", "snap_to_keyframes", "trim_dead_air"]
