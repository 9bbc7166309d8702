"""The documented entry point of PHP's `DateTime::modify()` in Python: `modify(base, modifiers)`.

Users and outside checks import it from here (`from siren_sync.schedules import modify`); the
rule itself lives with the rest of the pure engine, in `siren_sync/engine/schedules.py`.
"""
from siren_sync.engine.schedules import modify

__all__ = ["modify"]
