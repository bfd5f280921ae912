"""The collector handler, invoked with events/schedule.json, against the simulator and moto."""

from local.infobip_sim import make_reports
from tests.kit import assert_nothing_lost


def test_one_run_keeps_every_report_in_raw_index_and_jsonl(make_stack, sim, collect):
    stack = make_stack(PageSize="100")
    sim.add(make_reports(450, bulks=5))
    result = collect()
    assert result["outcome"] == "ok"
    assert result["fetched"] == 450 == len(sim.handed_out)
    assert result["pages"] == 5  # four full pages, then a short one ends the run
    state = assert_nothing_lost(stack, sim.handed_out)
    assert len(state.raw_pages) == 5
    assert sum(result["by_status_group"].values()) == 450
