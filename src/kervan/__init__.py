"""Kervan: an open Digital Trade Corridor for the Middle Corridor."""

__version__ = "0.1.0"
