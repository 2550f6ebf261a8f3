"""The response check of tests/openapi_check.py refuses what the document does not allow."""

from __future__ import annotations

import json

from tests.openapi_check import Answer, problems


def answer(status: int, body: object, *, path: str = "/campaigns/{id}/toggle") -> Answer:
    return Answer("POST", path, status, "application/json", json.dumps(body).encode())


GOOD = {"campaign_id": "9b2f4c1e-8d1a-4f55-9b1e-0c2d3e4f5a6b", "campaign_name": "C",
        "previous_status": "draft", "new_status": "active", "external_sync": "activated",
        "message": "Campaign 'C' activated."}


def test_a_documented_answer_passes() -> None:
    assert problems([answer(200, GOOD)]) == []
    assert problems([answer(502, {"error": {"code": "external_error", "message": "m"}})]) == []


def test_a_wrong_shape_an_undocumented_status_or_route_is_refused() -> None:
    assert problems([answer(200, {**GOOD, "external_sync": "maybe"})])
    assert problems([answer(200, {k: v for k, v in GOOD.items() if k != "message"})])
    assert problems([answer(201, GOOD)])
    assert problems([answer(200, GOOD, path="/nowhere")])
