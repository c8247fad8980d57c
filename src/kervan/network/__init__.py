"""Kervan network."""
