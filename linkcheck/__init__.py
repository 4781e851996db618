"""linkcheck: find every cited source of a submission, check it, and say which evidence is gone."""
from __future__ import annotations

__version__ = "0.1.0"
