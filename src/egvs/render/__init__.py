"""Rendering: the selected segments as an H.264/AAC mp4."""
