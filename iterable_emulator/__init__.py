"""A standalone emulator of Iterable's REST API (standard library only).

Run it with ``python -m iterable_emulator``; use it from tests with
``iterable_emulator.testing.EmulatorServer``. See README.md in this folder.
"""

from .app import make_app
from .state import State

__all__ = ["State", "make_app"]
