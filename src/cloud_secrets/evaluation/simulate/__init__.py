"""Scenario simulator: labelled documents shaped as the official integrations index them.

`generate(name, Options(...))` streams `(document, Label)` pairs in time order; `write_stream` writes the
documents one JSON object a line and, separately, the labels. See `scenarios()` for the names.
"""

from .common import Label
from .fast import Encoded
from .scenarios import ALL, BENIGN, Options, Scenario, generate, scenarios, stream
from .writer import Stats, write_stream

__all__ = [
    "ALL",
    "BENIGN",
    "Encoded",
    "Label",
    "Options",
    "Scenario",
    "Stats",
    "generate",
    "scenarios",
    "stream",
    "write_stream",
]
