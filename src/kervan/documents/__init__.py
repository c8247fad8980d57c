"""Kervan documents: e-CMR, e-TIR, e-Permit and CIM/SMGS models, their lifecycles and exports.

Signatures (canonical JSON, keys, JWS, the trust list) live in `kervan.signatures`.
"""
