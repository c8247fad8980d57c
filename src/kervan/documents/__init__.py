"""Kervan documents.

Signatures core: `canonical` (RFC 8785 bytes and SHA-256 digests), `keys` (Ed25519/ES256 signers
whose private key never leaves them), `trustlist` (parties' public keys with validity, rotation
and revocation, as JWKS), `jws` (multi-party JWS JSON, compact tokens, detached proofs);
`signing` re-exports them in one place.
"""
