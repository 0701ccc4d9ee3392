"""Constants shared by the emulator tests."""

__all__ = ["FIXED_NOW", "TOKEN"]

TOKEN = "123:TEST"
# 2026-03-02 01:00:00 UTC; a fixed clock makes message dates deterministic.
FIXED_NOW = 1_772_413_200.0
