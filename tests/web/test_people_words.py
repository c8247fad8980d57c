"""What the pages name is said in words in English, Turkish and Russian: every document state,
shipment status, party role, risk rule and TIR step; a note's steps in the order the work
happens, the steps that end it apart."""

from __future__ import annotations

import pytest

from kervan.customs.rules import Rules
from kervan.documents.cimsmgs import CimSmgsState
from kervan.documents.ecmr_lifecycle import EcmrState
from kervan.documents.etir import OperationState, TirState
from kervan.documents.parties import PartyRole
from kervan.shipments.events import ShipmentStatus
from kervan.web.console_pages import seal_condition, seal_number, tir_step
from kervan.web.document_parts import CONTENT_STEPS, FINAL_STEPS, WORK_ORDER, split_final
from kervan.web.i18n import LANGUAGES, locale
from kervan.web.shipment_pages import scheme_words

KEYS = sorted(
    {f"state.{s.value}" for e in (EcmrState, CimSmgsState, TirState, OperationState) for s in e}
    | {f"status.{s.value}" for s in ShipmentStatus}
    | {f"party_role.{r.value}" for r in PartyRole}
    | {f"rule.{name}" for name in Rules.model_fields}
    | {"rule.sensitive_hs"}
    | {f"sign.done.{step}" for step in WORK_ORDER if step not in CONTENT_STEPS}
    | {f"sign.step.{step}" for step in WORK_ORDER if step not in CONTENT_STEPS}
    | {f"sign.confirm.{step}" for step in FINAL_STEPS}
    | {f"next.road.{s.value}" for s in EcmrState}
    | {f"next.rail.{s.value}" for s in CimSmgsState}
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_state_role_and_rule_has_words_in_each_language(language: str) -> None:
    loc = locale(language)
    missing = [k for k in KEYS if k not in loc.messages]
    assert missing == []
    # No rule code or raw enum value stands in for the words.
    for key in KEYS:
        if key.startswith("rule."):
            assert "_" not in loc.t(key, prefix="8507"), key


def test_risk_rule_words_differ_by_language() -> None:
    words = {code: locale(code).t("rule.value_below_reference") for code in LANGUAGES}
    assert words["en"] == "Declared value below the usual range for these goods"
    assert len(set(words.values())) == 3
    assert (
        locale("ru").t("rule.sensitive_hs", prefix="8507") == "Чувствительный товар (ТН ВЭД 8507)"
    )


def test_steps_run_in_the_order_the_work_happens() -> None:
    # The alphabet put "cancel" first; the lifecycle's own order puts issuing first.
    steps = sorted(["cancel", "sign_taking_over", "issue"], key=WORK_ORDER.__getitem__)
    assert steps == ["issue", "sign_taking_over", "cancel"]
    assert split_final(steps) == (["issue", "sign_taking_over"], ["cancel"])
    assert WORK_ORDER["accept"] < WORK_ORDER["depart"] < WORK_ORDER["deliver"]


def test_tir_steps_and_seals_in_words() -> None:
    tr, ru = locale("tr"), locale("ru")
    assert (
        tir_step(tr, "start the TIR operation in GE") == "Gürcistan içinde TIR işlemini başlatmak"
    )
    assert tir_step(ru, "cancel the guarantee") == "аннулировать гарантию"
    assert tir_step(ru, "something new") == "something new"
    assert seal_number("CN2026118 (intact)") == "CN2026118"
    assert seal_condition("CN2026118 (intact)") == "intact"


def test_consignment_identifier_schemes_in_words() -> None:
    tr, ru = locale("tr"), locale("ru")
    assert scheme_words(tr, "registration plate (UZ)") == "plaka (Özbekistan)"
    assert scheme_words(ru, "container number") == "номер контейнера"
    assert scheme_words(ru, "a scheme from a newer node") == "a scheme from a newer node"
