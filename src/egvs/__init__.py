"""EGVS: Emotion-Guided Video Summarization.

import egvs
analysis = egvs.analyze("talk.mp4", duration=60)
summary = egvs.summarize("talk.mp4", "talk-summary.mp4", ratio=0.15)
"""

__version__ = "0.1.0"

from egvs.api import Analysis, Summary, analyze, extract, summarize  # noqa: E402

__all__ = ["Analysis", "Summary", "__version__", "analyze", "extract", "summarize"]
