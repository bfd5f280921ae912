"""Cutting one number's reports out of a stored page keeps every other byte where it was."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlr_vault.erasure import UnreadablePage, addressed_to, cut_lines, cut_page

NUMBER = "41793026731"
drops = addressed_to(NUMBER)


def report(i: int, to: str) -> dict:
    return {"messageId": f"m-{i}", "to": to, "text": f'Grüße {i} \u263a \\ " ', "price": {"pricePerMessage": 0.01 * i}}


def other(i: int) -> str:
    return f"4179{i:07d}"


layouts = st.sampled_from(
    [
        {"separators": (",", ":")},  # Infobip's compact form
        {"indent": 2},
        {"indent": "\t", "ensure_ascii": False},
        {"separators": (" ,  ", ": "), "ensure_ascii": False},
    ]
)
spellings = st.sampled_from(["41793026731", "+41793026731", "0041793026731", "+41 79 302 67 31"])


@given(
    mine=st.lists(st.booleans(), min_size=1, max_size=12),
    layout=layouts,
    spelling=spellings,
    before=st.booleans(),
)
def test_the_page_is_the_same_bytes_without_the_numbers_reports(mine, layout, spelling, before):
    reports = [report(i, spelling if is_mine else other(i)) for i, is_mine in enumerate(mine)]
    page = (
        {"bulkId": "b", "results": reports, "pagination": {"limit": 50}} if before else {"results": reports, "extra": [1, {"results": []}]}
    )
    body = json.dumps(page, **layout).encode()
    kept, cut = cut_page(body, drops)
    assert cut == [r for r in reports if r["to"] == spelling]
    assert json.loads(kept) == {**page, "results": [r for r in reports if r["to"] != spelling]}
    if not cut:
        assert kept is body
    if all(mine) or not any(mine):
        return
    # the same page as a writer would have made it without those reports: byte for byte
    assert kept == json.dumps({**page, "results": [r for r in reports if r["to"] != spelling]}, **layout).encode()


def test_only_the_top_level_results_are_cut_and_garbage_is_refused():
    nested = {"results": [report(1, NUMBER)], "meta": {"results": [report(2, NUMBER)]}}
    kept, cut = cut_page(json.dumps(nested).encode(), drops)
    assert [r["messageId"] for r in cut] == ["m-1"] and json.loads(kept)["meta"] == nested["meta"]
    for garbage in (b"<html>502</html>", b'{"results": [', b'{"other": []}', b"[]"):
        with pytest.raises(UnreadablePage):
            cut_page(garbage, drops)


def test_json_lines_keep_every_other_line():
    lines = [json.dumps(report(i, NUMBER if i % 3 == 0 else other(i)), ensure_ascii=False) for i in range(10)]
    body = ("\n".join(lines) + "\n").encode()
    kept, cut = cut_lines(body, drops)
    assert len(cut) == 4
    assert kept == ("\n".join(line for i, line in enumerate(lines) if i % 3) + "\n").encode()
    assert cut_lines(kept, drops) == (kept, [])
