"""The exchange between national nodes: signed envelopes, outbox, inbox, brokers, e-Permit peers."""
