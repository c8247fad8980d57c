"""The e-Permit peer protocol: exchange quota, permit, usage and key events with other
e-Permit implementations over HTTP, byte-exact and with detached ES256 proofs."""
