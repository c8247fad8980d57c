"""Errors a user or a peer can cause, typed once and mapped once (CLI exit codes, HTTP 4xx).

Every adapter maps a `KervanError` by its `code` and `exit_code`; nothing else should escape to a
user as a traceback.
"""

from __future__ import annotations


class KervanError(Exception):
    """Base of every error a user or a peer can cause.

    `code` is a stable machine-readable name; `exit_code` is what the CLI returns; `http_status`
    is what the API answers.
    """

    code = "kervan_error"
    exit_code = 1
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatasetError(KervanError):
    """A shipped or user-supplied data file holds a bad value.

    Names the file, the record and the field so the person fixing it goes straight there.
    """

    code = "dataset_invalid"
    exit_code = 3
    http_status = 422

    def __init__(self, file: str, record: str, field: str, problem: str) -> None:
        self.file = file
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: record {record}: field {field}: {problem}")


class UnknownPlaceError(KervanError):
    """A place name that resolves to no node; carries the closest matches."""

    code = "unknown_place"
    exit_code = 4
    http_status = 404

    def __init__(self, query: str, suggestions: list[str]) -> None:
        self.query = query
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"No place on the corridor network matches {query!r}.{hint}")


class NoRouteError(KervanError):
    """No route satisfies the request; `reasons` says which constraints blocked it."""

    code = "no_route"
    exit_code = 5
    http_status = 422

    def __init__(self, origin: str, destination: str, reasons: list[str]) -> None:
        self.origin = origin
        self.destination = destination
        self.reasons = reasons
        why = " ".join(reasons) if reasons else "The network has no connection between them."
        super().__init__(f"No route from {origin} to {destination}. {why}")


class InvalidRequestError(KervanError):
    """A request whose parameters do not make sense (unknown mode, bad weights, ...)."""

    code = "invalid_request"
    exit_code = 2
    http_status = 422


class IllegalTransitionError(KervanError):
    """A lifecycle step a document's current state does not allow.

    Says which document, what was attempted, from which state, and which steps that state allows.
    """

    code = "illegal_transition"
    exit_code = 6
    http_status = 409

    def __init__(self, document: str, attempted: str, state: str, allowed: list[str]) -> None:
        self.document = document
        self.attempted = attempted
        self.state = state
        self.allowed = allowed
        options = ", ".join(allowed) if allowed else "nothing (the document is closed)"
        super().__init__(
            f"{document}: cannot {attempted} while it is {state}; "
            f"from {state} it allows: {options}."
        )


class SignatoryError(KervanError):
    """A signature from the wrong party, in the wrong role, or on the wrong version for a step."""

    code = "wrong_signatory"
    exit_code = 7
    http_status = 403

    def __init__(self, document: str, attempted: str, problem: str) -> None:
        self.document = document
        self.attempted = attempted
        self.problem = problem
        super().__init__(f"{document}: cannot {attempted}: {problem}")


class DocumentValidationError(KervanError):
    """Document content that breaks a rule of its standard (bad code, missing party, ...)."""

    code = "document_invalid"
    exit_code = 8
    http_status = 422


class QuotaExhaustedError(KervanError):
    """An e-Permit quota has no permits left to issue."""

    code = "quota_exhausted"
    exit_code = 9
    http_status = 409


class GuaranteeNotValidError(KervanError):
    """A TIR guarantee that is not registered, is cancelled or has expired for the step asked."""

    code = "guarantee_not_valid"
    exit_code = 10
    http_status = 409


class PermitUsageRefusedError(KervanError):
    """A permit usage the control authority's rule does not allow (too many entries, ...)."""

    code = "permit_usage_refused"
    exit_code = 11
    http_status = 409


class CanonicalJsonError(KervanError):
    """A value RFC 8785 cannot canonicalise (NaN, an integer beyond 2**53, a non-string key)."""

    code = "json_not_canonical"
    exit_code = 12
    http_status = 422


class SignatureError(KervanError):
    """A signature, a signed token or a signing key that must not be trusted.

    `reason` is a stable name (unknown_kid, key_revoked, key_not_yet_valid, key_superseded,
    bad_signature, algorithm_not_allowed, algorithm_mismatch, party_mismatch, payload_changed,
    expired, malformed); `index` says which signature of a multi-signature JWS failed.
    """

    code = "signature_invalid"
    exit_code = 13
    http_status = 422

    def __init__(
        self,
        reason: str,
        detail: str,
        *,
        index: int | None = None,
        kid: str | None = None,
        party: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.index = index
        self.kid = kid
        self.party = party
        where = f"signature {index}" if index is not None else "signature"
        who = f" (kid {kid!r}" + (f", party {party!r})" if party else ")") if kid else ""
        super().__init__(f"{where}{who} rejected: {reason}: {detail}")


class TrustListError(KervanError):
    """A trust list operation or a JWKS document that does not make sense (duplicate kid, ...)."""

    code = "trust_list_invalid"
    exit_code = 14
    http_status = 422


class LedgerIntegrityError(KervanError):
    """The ledger, a hash chain or an evidence bundle does not hold together.

    `check` names what failed (e.g. chain_link, leaf_hash, tree_head) so an auditor goes straight
    to it.
    """

    code = "ledger_integrity_failed"
    exit_code = 15
    http_status = 422

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(f"ledger check {check} failed: {detail}")


class MerkleProofError(LedgerIntegrityError):
    """An RFC 9162 inclusion or consistency proof that does not verify, or cannot be made."""

    code = "merkle_proof_invalid"


class ConfigurationError(KervanError):
    """A setting that is missing or unsafe for the environment (e.g. no secret key in production).

    Names the environment variable to set so the operator can fix it without reading code.
    """

    code = "configuration_invalid"
    exit_code = 16
    http_status = 500


class DatabaseNotMigratedError(KervanError):
    """The database schema is missing or older than the code: run `kervan db upgrade`."""

    code = "database_not_migrated"
    exit_code = 17
    http_status = 503


class NotFoundError(KervanError):
    """A record the caller's organisations do not hold (or that does not exist at all).

    Another organisation's object is reported exactly like a missing one: never a hint it exists.
    """

    code = "not_found"
    exit_code = 18
    http_status = 404

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} not found")


class ImmutableRecordError(KervanError):
    """An attempt to change a record that is insert-only (a signed document version, a ledger
    entry, a permit usage) or to create one that already exists."""

    code = "record_immutable"
    exit_code = 19
    http_status = 409


class IdempotencyConflictError(KervanError):
    """An idempotency key reused with a different request than the one it first answered."""

    code = "idempotency_conflict"
    exit_code = 20
    http_status = 422


class KeyFileError(KervanError):
    """A signing key file that is missing, unreadable, or readable by others than its owner."""

    code = "key_file_invalid"
    exit_code = 21
    http_status = 500


class PermitRefusedError(KervanError):
    """A control authority refuses an e-Permit at its border.

    `reason` is a stable name (qr_signature, qr_signer, qr_claims, not_yet_valid, expired,
    plate_mismatch, wrong_authority, wrong_haulier_country, permit_type, usage_rule, revoked) so
    the officer and the haulier see at once what to fix.
    """

    code = "permit_refused"
    exit_code = 22
    http_status = 422

    def __init__(self, permit_id: str, reason: str, detail: str) -> None:
        self.permit_id = permit_id
        self.reason = reason
        self.detail = detail
        super().__init__(f"permit {permit_id} refused: {reason}: {detail}")


class CustomsRouteError(KervanError):
    """A customs step at an office the shipment's declared route does not pass, or a route
    the customs corridor cannot follow (e.g. a country entered twice under one TIR transport)."""

    code = "customs_route_invalid"
    exit_code = 23
    http_status = 422


class AuthenticationError(KervanError):
    """Missing, malformed, expired or revoked credentials (HTTP 401)."""

    code = "unauthorized"
    exit_code = 30
    http_status = 401


class ScopeError(KervanError):
    """The credential is valid but lacks the scope this action needs (HTTP 403)."""

    code = "insufficient_scope"
    exit_code = 31
    http_status = 403


class TooManyAttemptsError(KervanError):
    """Too many wrong logins for an account or from an address, or too many requests from a
    client: try again after `retry_after` seconds (HTTP 429 with Retry-After)."""

    code = "too_many_attempts"
    exit_code = 32
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"{message}; try again in {self.retry_after} seconds")


class MessageRejectedError(KervanError):
    """A cross-border message the receiving node refuses: unsigned, forged, from an unknown
    sender, signed with a revoked key, replayed, or addressed to another authority.

    `reason` is a stable name (malformed, unsigned, wrong_receiver, unknown_sender, forged,
    key_revoked, untrusted_key, replayed, sequence_conflict, refused_by_handler).
    """

    code = "message_rejected"
    exit_code = 40
    http_status = 422

    def __init__(self, reason: str, detail: str, *, message_id: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.message_id = message_id
        where = f"message {message_id}" if message_id else "message"
        super().__init__(f"{where} rejected: {reason}: {detail}")


class BrokerUnavailableError(KervanError):
    """The message broker cannot be reached; the outbox keeps the messages until it can."""

    code = "broker_unavailable"
    exit_code = 41
    http_status = 503


class EpermitPeerError(KervanError):
    """An e-Permit peer event refused with the standard's error code (EVENT_ALREADY_EXISTS,
    PREVIOUS_EVENT_NOTFOUND, INSUFFICIENT_PERMIT_QUOTA, ...): HTTP 422, or 401 for a proof
    that does not verify, or 400 with the failing `fields` for an event that is not valid."""

    code = "epermit_peer_refused"
    exit_code = 42
    http_status = 422

    def __init__(
        self, error_code: str, message: str, *, status: int = 422, fields: list[str] | None = None
    ) -> None:
        self.error_code = error_code
        self.http_status = status
        self.fields = fields or []
        super().__init__(f"{error_code}: {message}")


class CheckpointConflictError(KervanError):
    """A log asked a witness to co-sign from a tree size the witness did not last co-sign for
    it: the log retries with a consistency proof from `known_size`."""

    code = "checkpoint_conflict"
    exit_code = 27
    http_status = 409

    def __init__(self, origin: str, known_size: int) -> None:
        self.origin = origin
        self.known_size = known_size
        super().__init__(
            f"the witness last co-signed log {origin} at size {known_size}: prove consistency "
            f"from that size"
        )
