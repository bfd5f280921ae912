"""The collector handler, invoked with events/schedule.json, against the simulator and moto."""

from dlr_vault.config import CollectorSettings
from dlr_vault.ingest import build_collector
from local.infobip_sim import make_reports
from tests.kit import assert_nothing_lost, kept


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


def test_an_idle_run_leaves_no_object_behind(stack, sim, collect):
    """Nothing new at Infobip: one request, an empty page, nothing archived or checkpointed."""
    result = collect()
    assert (result["outcome"], result["pages"], result["empty_pages"], result["fetched"]) == ("ok", 1, 1, 0)
    state = kept(stack)
    assert not state.raw_pages and not state.jsonl_reports
    assert (
        "lastRawKey" not in stack.clients("dynamodb").get_item(TableName=stack.names["StateTable"], Key={"pk": {"S": "collector"}})["Item"]
    )


def test_with_a_poll_interval_a_run_takes_reports_that_arrive_while_it_runs(make_stack, sim):
    """Reports that become available between two polls are stored by the same run."""
    stack = make_stack(PageSize="100", PollIntervalSeconds="5")
    sim.add(make_reports(150, bulks=2, seed=1))
    later = make_reports(30, bulks=1, seed=2)
    polls: list[float] = []

    def between_polls(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            sim.add(later)

    collector = build_collector(CollectorSettings.from_env(), sleep=between_polls)
    stats = collector.run(lambda: 120.0 if len(polls) < 3 else 0.0)  # time for three polls, then none
    assert stats.fetched == 180 and polls[0] == 5.0
    assert_nothing_lost(stack, sim.handed_out)


def test_without_a_poll_interval_a_short_page_ends_the_run(make_stack, sim):
    make_stack(PageSize="100")
    sim.add(make_reports(50, bulks=1))
    slept: list[float] = []
    stats = build_collector(CollectorSettings.from_env(), sleep=slept.append).run(lambda: 120.0)
    assert (stats.fetched, stats.pages, slept) == (50, 1, [])
