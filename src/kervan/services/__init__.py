"""Kervan's use cases: each takes a unit of work (a store session) and the caller; transactions
and authorisation live here, once."""
