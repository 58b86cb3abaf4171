"""Printed lines (runtime/cleaning.py, _printed_lines): not yet expressed in the graph; no pixel is
taken for a printed line."""

from .builder import Builder


def printed_lines(g: Builder, ink: str, strong: str, stroke_width: str) -> str:
    """A bool mask [h, w] of the pixels on printed lines."""
    return g.op("And", strong, g.op("Not", strong))
