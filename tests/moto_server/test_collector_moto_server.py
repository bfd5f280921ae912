"""The collector over real HTTP: moto server for AWS, the simulator for Infobip."""

import time

from local.infobip_sim import make_reports
from tests.kit import assert_nothing_lost


def test_ten_thousand_reports_in_twenty_bulks_are_all_kept(make_stack, sim, collect):
    stack = make_stack(PageSize="1000")
    sim.add(make_reports(10_000, bulks=20))
    started = time.perf_counter()
    result = collect()
    elapsed = time.perf_counter() - started
    assert result["outcome"] == "ok"
    assert result["fetched"] == result["archived"] == result["indexed"] == 10_000
    assert result["pages"] == 11  # ten full pages and the empty one that ends the run
    state = assert_nothing_lost(stack, sim.handed_out)
    assert len({i["bulkId"]["S"] for i in state.index.values()}) == 20
    print(f"\n10,000 reports against moto server: {elapsed:.2f} s, {10_000 / elapsed:,.0f} reports/s")


def test_v3_with_several_reports_per_message_keeps_the_newest(make_stack, sim, collect):
    stack = make_stack(PageSize="500", InfobipApiVersion="3")
    sim.add(make_reports(1_500, bulks=3, updates=300))
    result = collect()
    assert result["fetched"] == 1_800
    assert all("sender" in r and "messageCount" in r for r in sim.handed_out)
    assert_nothing_lost(stack, sim.handed_out)
