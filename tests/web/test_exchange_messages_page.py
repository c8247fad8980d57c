"""An authority's messages page over HTTP: the gaps, refusals and dead letters its node holds
back, with the same use cases as `kervan messages` behind the buttons (replay a dead letter,
skip a gap), shown only to the authority's own people (anyone else: 404)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from lxml.html import HtmlElement

from kervan.api.app import create_app
from kervan.exchange.envelope import CrossBorderMessage, MessageType, message_id
from kervan.exchange.inbox import Inbox
from kervan.exchange.status import channel_heads
from kervan.network.model import Network
from kervan.services.customs.handlers import message_handler
from kervan.services.node import NodeContext
from kervan.signatures.keys import Signer
from kervan.store.db import unit_of_work
from kervan.store.uow import UnitOfWork
from tests.api.conftest import node_settings
from tests.databases import migrated_database
from tests.web.conftest import seed_corridor
from tests.web.test_pages_http import csrf_of, login

TR, AZ = "tr-customs", "az-customs"
PAGE = f"/exchange/{TR}/messages"
Seeded = tuple[TestClient, int]  # the client, and TR's channel head from AZ before the test


def found(element: HtmlElement, path: str) -> list[HtmlElement]:
    """The elements `path` finds under `element`."""
    matches = element.xpath(path)
    assert isinstance(matches, list)
    return [m for m in matches if isinstance(m, HtmlElement)]


def control(signer: Signer, seq: int) -> bytes:
    """A control result from Azerbaijan's customs to Turkiye's, numbered `seq`."""
    message = CrossBorderMessage(
        id=message_id(AZ, TR, seq),
        sender=AZ,
        receiver=TR,
        type=MessageType.CONTROL_RESULT,
        seq=seq,
        created_at=datetime.now(UTC) - timedelta(minutes=5),
        payload={"shipment": f"SHP-20261124-00{seq:02d}"},
    )
    return message.sign(signer).to_bytes()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[Seeded]:
    folder: Path = tmp_path_factory.mktemp("web-messages")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seed_corridor(app)
        ctx: NodeContext = app.state.node
        az = ctx.keys.load(AZ, ctx.keys.kids(AZ)[-1])
        with UnitOfWork(ctx.sessions, reading=True) as uow:
            trust = uow.signing_keys.trust_list()
        inbox = Inbox(TR, trust, message_handler(ctx.clock, ctx), clock=ctx.clock)
        with unit_of_work(ctx.sessions) as session:
            head = channel_heads(session, TR).get(AZ, 0)
            # The next message failed on each of its deliveries; the one after waits behind it.
            inbox.dead_letter(session, control(az, head + 1), "max_deliveries",
                              "failed on each of 5 deliveries", deliveries=5)  # fmt: skip
            assert inbox.receive(session, control(az, head + 2)).outcome == "held"
            # Altered after AZ signed it: refused.
            forged = control(az, 99).replace(b"SHP-20261124-0099", b"SHP-20261124-0098")
            assert inbox.receive(session, forged).outcome == "rejected"
        with TestClient(app, base_url="http://127.0.0.1") as test_client:
            yield test_client, head


def test_the_authority_sees_what_its_node_held_back_and_acts_on_it(seeded: Seeded) -> None:
    client, head = seeded
    login(client, TR)
    page = client.get(PAGE)
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    (gap,) = found(tree, '//tr[@data-sender="az-customs"]')
    cells = [c.text_content().strip() for c in found(gap, "./th|./td")]
    assert cells[:4] == ["az-customs", str(head), f"{head + 1}–{head + 1}", "1"]
    refused = found(tree, '//table[@class="refused-table"]/tbody/tr')
    assert len(refused) == 1
    assert "az-customs:tr-customs:99" in page.text
    (dead,) = found(tree, "//tr[@data-dead-letter]")
    assert "max_deliveries" in dead.text_content()
    assert "waiting" in dead.text_content()
    assert "Not yet" in gap.text_content()  # the node has not asked the stream again yet

    # Ask the node to read AZ's channel in the stream again: recorded for its next check.
    asked = client.post(f"{PAGE}/ask-again", data={"sender": AZ, "csrf": csrf_of(page)})
    assert asked.status_code == 200
    shown = lxml_html.fromstring(asked.text)
    assert isinstance(shown, HtmlElement)
    assert "The node asks the sender's stream again at its next check" in shown.text_content()
    (gap,) = found(shown, '//tr[@data-sender="az-customs"]')
    (pending,) = found(gap, './/em[@class="pending-ask"]')
    assert "the node asks at its next check" in pending.text_content()
    page = asked

    # Replay the dead letter: it fills the gap, so number 2 is applied after it.
    replayed = client.post(
        f"{PAGE}/replay",
        data={"dead_letter_id": dead.get("data-dead-letter"), "csrf": csrf_of(page)},
    )
    assert replayed.status_code == 200
    assert "Received again:" in replayed.text
    assert f"az-customs:tr-customs:{head + 1}: applied" in replayed.text
    after = lxml_html.fromstring(replayed.text)
    assert found(after, '//tr[@data-sender="az-customs"]') == []
    assert "No gap: every channel is applied in order." in replayed.text
    assert "replayed" in found(after, "//tr[@data-dead-letter]")[0].text_content()
    again = client.post(
        f"{PAGE}/replay",
        data={"dead_letter_id": dead.get("data-dead-letter"), "csrf": csrf_of(replayed)},
    )
    assert f"dead letter {dead.get('data-dead-letter')} is already replayed" in again.text


def test_skipping_a_gap_that_is_not_there_is_refused_on_the_page(seeded: Seeded) -> None:
    client, _ = seeded
    login(client, TR)
    page = client.get(PAGE)
    skipped = client.post(f"{PAGE}/skip", data={"sender": "kz-customs", "csrf": csrf_of(page)})
    assert skipped.status_code == 200
    assert "holds no message from kz-customs" in skipped.text  # nothing held: refused, no 500
    asked = client.post(
        f"{PAGE}/ask-again", data={"sender": "kz-customs", "csrf": csrf_of(skipped)}
    )
    assert asked.status_code == 200
    assert "held gap of sender" in asked.text
    assert "kz-customs" in asked.text


def test_nobody_else_sees_or_touches_an_authoritys_messages(seeded: Seeded) -> None:
    client, _ = seeded
    for other in ("az-customs", "xian-forwarding", "tr-permits"):
        login(client, other)
        page = client.get(PAGE)
        assert page.status_code == 404, other
        assert "az-customs:tr-customs:99" not in page.text
        own = client.get("/exchange/messages", follow_redirects=False)
        assert own.headers["location"] == f"/exchange/{other}/messages"
        token = csrf_of(client.get("/exchange/messages"))  # the own page carries the token
        refused = client.post(f"{PAGE}/skip", data={"sender": AZ, "csrf": token})
        assert refused.status_code == 404, other
        not_asked = client.post(f"{PAGE}/ask-again", data={"sender": AZ, "csrf": token})
        assert not_asked.status_code == 404, other
    login(client, TR)
    assert client.get("/exchange/not a code/messages").status_code in (404, 422)
