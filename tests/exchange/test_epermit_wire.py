"""Byte-exact serialisation of each e-Permit peer event against hand-written strings: own fields
in declaration order, then the common fields, nulls left out, no spaces, and <, >, &, =, '
escaped as the reference implementation's JSON library does (other non-ASCII as UTF-8)."""

from __future__ import annotations

import pytest

from kervan.exchange.epermit_peer.wire import (
    Common,
    EventBody,
    EventType,
    KeyCreated,
    KeyRevoked,
    PermitCreated,
    PermitRevoked,
    PermitUsed,
    QuotaCreated,
    go_json,
    parse_event,
    serialise,
)

EVENT_ID = "0f8e4a52-6b1d-4a4e-9a53-1d6c2f3b7e10"
TAIL = (
    ',"event_producer":"TR","event_consumer":"UZ","event_timestamp":1735725600,'
    f'"event_type":"{{kind}}","event_id":"{EVENT_ID}","previous_event_id":"0"}}'
)


def common(kind: EventType) -> Common:
    return Common(
        event_producer="TR",
        event_consumer="UZ",
        event_timestamp=1735725600,
        event_type=kind,
        event_id=EVENT_ID,
        previous_event_id="0",
    )


CASES: list[tuple[EventBody, str]] = [
    (
        QuotaCreated(
            permit_issuer="UZ", permit_issued_for="TR", permit_year=2025, permit_type=1,
            quantity=50,
        ),
        '{"permit_issuer":"UZ","permit_issued_for":"TR","permit_year":2025,"permit_type":1,'
        '"quantity":50',
    ),
    (
        PermitCreated(
            permit_id="TR-UZ-2025-1-1", permit_type=1, permit_issuer="TR", permit_issued_for="UZ",
            permit_year=2025, issued_at="01/01/2025", expires_at="31/01/2026",
            plate_number="06 ABC 123", company_name="Öz <Kervan> & Sons='Ltd'",
            company_id="TR-1234", qr_code="eyJh.eyJp.c2ln",
            other_claims={"note": "a<b", "axles": 3},
        ),
        '{"permit_id":"TR-UZ-2025-1-1","permit_type":1,"permit_issuer":"TR",'
        '"permit_issued_for":"UZ","permit_year":2025,"issued_at":"01/01/2025",'
        '"expires_at":"31/01/2026","plate_number":"06 ABC 123",'
        '"company_name":"Öz \\u003cKervan\\u003e \\u0026 Sons\\u003d\\u0027Ltd\\u0027",'
        '"company_id":"TR-1234","qr_code":"eyJh.eyJp.c2ln",'
        '"other_claims":{"note":"a\\u003cb","axles":3}',
    ),
    (
        PermitUsed(permit_id="TR-UZ-2025-1-1", activity_type="ENTRANCE",
                   activity_timestamp=1735812000, activity_details="Alat > Yallama"),
        '{"permit_id":"TR-UZ-2025-1-1","activity_type":"ENTRANCE",'
        '"activity_timestamp":1735812000,"activity_details":"Alat \\u003e Yallama"',
    ),
    (
        PermitRevoked(permit_id="TR-UZ-2025-1-2", revoked_at=1735812000),
        '{"permit_id":"TR-UZ-2025-1-2","revoked_at":1735812000',
    ),
    (
        KeyCreated(authority="TR", kid="tr-2",
                   jwk='{"kty":"EC","crv":"P-256","x":"abc","y":"def"}'),
        '{"authority":"TR","kid":"tr-2",'
        '"jwk":"{\\"kty\\":\\"EC\\",\\"crv\\":\\"P-256\\",\\"x\\":\\"abc\\",\\"y\\":\\"def\\"}"',
    ),
    (
        KeyRevoked(authority="TR", key_id="tr-1", revoked_at=1735812000),
        '{"authority":"TR","key_id":"tr-1","revoked_at":1735812000',
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "head"), CASES, ids=[type(b).__name__ for b, _ in CASES])
def test_each_event_serialises_byte_for_byte(body: EventBody, head: str) -> None:
    kind = {
        QuotaCreated: EventType.QUOTA_CREATED,
        PermitCreated: EventType.PERMIT_CREATED,
        PermitUsed: EventType.PERMIT_USED,
        PermitRevoked: EventType.PERMIT_REVOKED,
        KeyCreated: EventType.KEY_CREATED,
        KeyRevoked: EventType.KEY_REVOKED,
    }[type(body)]
    expected = (head + TAIL.replace("{kind}", kind.value)).encode("utf-8")
    data = serialise(body, common(kind))
    assert data == expected
    # A receiver that parses these bytes and writes them again gets the very same bytes.
    parsed = parse_event(kind, data)
    assert serialise(*parsed) == data


def test_nulls_are_left_out_and_field_order_is_the_declaration_order() -> None:
    permit = PermitCreated(
        permit_id="TR-UZ-2025-1-1", permit_type=1, permit_issuer="TR", permit_issued_for="UZ",
        permit_year=2025, issued_at="01/01/2025", expires_at="31/01/2026",
        plate_number="06 ABC 123", plate_number2=None, company_name="K", company_id="1",
    )  # fmt: skip
    text = serialise(permit, common(EventType.PERMIT_CREATED)).decode()
    assert "null" not in text
    assert "plate_number2" not in text
    assert (
        text.index('"plate_number"') < text.index('"company_name"') < text.index('"event_producer"')
    )


def test_html_safe_escaping_of_the_five_characters_only() -> None:
    assert (
        go_json({"v": "<>&='\"/é"}) == '{"v":"\\u003c\\u003e\\u0026\\u003d\\u0027\\"/é"}'.encode()
    )


def test_mismatched_event_type_is_refused_by_the_serialiser() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        serialise(KeyRevoked(authority="TR", key_id="k", revoked_at=1735812000),
                  common(EventType.KEY_CREATED))  # fmt: skip


def test_line_and_paragraph_separators_are_written_escaped_as_the_reference_does() -> None:
    assert go_json({"v": "a\u2028b\u2029c"}) == b'{"v":"a\\u2028b\\u2029c"}'


def test_an_event_with_separators_parses_and_reserialises_to_the_senders_bytes() -> None:
    # What a reference sender posts: the separators escaped in the JSON text it signed.
    kind = EventType.PERMIT_USED
    sent = (
        '{"permit_id":"TR-UZ-2025-1-1","activity_type":"ENTRANCE",'
        '"activity_timestamp":1735812000,"activity_details":"gate 3\\u2028lane\\u20292"'
        + TAIL.replace("{kind}", kind.value)
    ).encode()
    body, parsed_common = parse_event(kind, sent)
    assert isinstance(body, PermitUsed)
    assert body.activity_details == "gate 3\u2028lane\u20292"
    assert serialise(body, parsed_common) == sent
