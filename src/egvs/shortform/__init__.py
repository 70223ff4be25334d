"""Short-form clips: choose stand-alone moments, reframe them, caption them (`egvs shorts`)."""

from egvs.shortform.make import Short, Shorts, shorts

__all__ = ["Short", "Shorts", "shorts"]
