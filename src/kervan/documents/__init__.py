"""Kervan documents."""
