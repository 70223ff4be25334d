"""Feature extractors: visual (CNN), motion (optical flow), audio (prosody, events, speech emotion)."""
