"""Kervan routing."""
