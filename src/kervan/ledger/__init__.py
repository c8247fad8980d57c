"""Kervan ledger."""
