"""The checkout's root: where subprocesses (``python -m tui.cli``, the tools) run from."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
