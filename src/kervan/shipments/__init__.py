"""Shipments: booking from a plan, the documents it opens, and the events of the journey."""
