"""Exports: the analysis JSON, the timeline plot and editor timelines (OTIO, EDL, FCP XML)."""
