"""The collector handler, invoked with events/schedule.json, against the simulator and moto."""

import threading
import time

from dlr_vault.config import CollectorSettings
from dlr_vault.ingest import build_collector
from dlr_vault.run import FIRST_PAGE_COST, FOLLOW_STEP
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


def _lease(stack) -> dict:
    item = stack.clients("dynamodb").get_item(TableName=stack.names["StateTable"], Key={"pk": {"S": "collector"}}, ConsistentRead=True)
    return item.get("Item", {})


def test_with_polling_the_next_run_takes_over_between_two_polls_and_nothing_is_lost(make_stack, sim):
    """The schedule starts a run while the last one still polls: the new one asks for the lease,
    the old one hands over at its next poll, and between them every report is stored once."""
    stack = make_stack(PageSize="100", PollIntervalSeconds="5")
    sim.add(make_reports(120, bulks=2, seed=1))
    follower: dict[str, object] = {}
    b_polls: list[float] = []

    def b_sleep(seconds: float) -> None:
        if seconds == FOLLOW_STEP:  # waiting for the hand-over
            time.sleep(0.01)
        else:
            b_polls.append(seconds)
            if len(b_polls) == 1:
                sim.add(make_reports(10, bulks=1, seed=3))  # arrives while B polls

    def start_b() -> None:
        b = build_collector(CollectorSettings.from_env(), sleep=b_sleep)
        follower["stats"] = b.run(lambda: 120.0 if len(b_polls) < 2 else 0.0)

    thread = threading.Thread(target=start_b)
    a_polls: list[float] = []

    def a_sleep(seconds: float) -> None:
        a_polls.append(seconds)
        if len(a_polls) == 1:
            thread.start()  # the next scheduled run, while A polls
            deadline = time.monotonic() + 30
            while "leaseNext" not in _lease(stack) and time.monotonic() < deadline:
                time.sleep(0.01)
            sim.add(make_reports(15, bulks=1, seed=2))  # arrives while B waits: A's next poll takes it

    a = build_collector(CollectorSettings.from_env(), sleep=a_sleep).run(lambda: 120.0 if len(a_polls) < 3 else 0.0)
    thread.join(60)
    b = follower["stats"]
    assert (a.outcome, a.handed_over, a.followed) == ("ok", 1, 0) and len(a_polls) == 1  # stopped at the poll after the request
    assert (b.outcome, b.followed, b.handed_over) == ("ok", 1, 0) and b.killed_runs == 0
    assert a.fetched == 135 and b.fetched == 10
    assert "leaseOwner" not in _lease(stack) and "leaseNext" not in _lease(stack)  # B's granted request is gone with it
    assert_nothing_lost(stack, sim.handed_out)


def test_a_request_left_by_a_follower_that_died_waiting_stops_no_later_holder(make_stack, sim):
    """A follower killed while it waited leaves its request in the state item; a run that takes
    the lease afterwards polls on, as if the request were not there."""
    stack = make_stack(PollIntervalSeconds="5")
    settings = CollectorSettings.from_env()
    state = build_collector(settings).state
    now = time.time()
    assert state.acquire("holder", now - 10, now + 100, "collect") is not None
    assert state.follow("died-waiting", now - 5)
    state.release("holder")
    polls: list[float] = []
    stats = build_collector(settings, sleep=polls.append).run(lambda: 120.0 if len(polls) < 3 else 0.0)
    assert (stats.outcome, stats.handed_over, len(polls)) == ("ok", 0, 3)
    assert _lease(stack)["leaseNext"]["S"] == "died-waiting"  # still there, and harmless


def test_a_follower_that_is_never_handed_the_lease_gives_up_in_time_and_withdraws(make_stack, sim):
    """The holder does not poll (a long page, a reconciliation): the follower stops waiting while
    it could still pull a page, takes nothing from Infobip, and leaves no request behind."""
    stack = make_stack(PollIntervalSeconds="5")
    sim.add(make_reports(30))
    settings = CollectorSettings.from_env()
    holder = build_collector(settings)
    now = time.time()
    assert holder.state.acquire("a-long-reconciliation", now, now + 300, "reconcile") is not None
    left = [settings.read_timeout + 3.05 + FIRST_PAGE_COST + 1.0]  # one second more than a page needs

    def waiting(seconds: float) -> None:
        left[0] -= seconds

    stats = build_collector(settings, sleep=waiting).run(lambda: left[0])
    assert (stats.outcome, stats.fetched, stats.followed) == ("skipped", 0, 0)
    assert not sim.requests
    lease = _lease(stack)
    assert lease["leaseOwner"]["S"] == "a-long-reconciliation" and "leaseNext" not in lease


def test_a_follower_takes_over_a_holder_that_was_killed_and_records_its_possible_gap(make_stack, sim):
    """The run it waited for died holding the lease: at the lease's end the follower takes over,
    as any run does after a killed one, and collects."""
    stack = make_stack(PollIntervalSeconds="5")
    sim.add(make_reports(40))
    clock = [time.time()]
    settings = CollectorSettings.from_env()
    assert build_collector(settings).state.acquire("killed", clock[0] - 50, clock[0] + 2, "collect") is not None

    polls: list[float] = []

    def passing(seconds: float) -> None:
        clock[0] += seconds
        if seconds != FOLLOW_STEP:
            polls.append(seconds)

    stats = build_collector(settings, sleep=passing, clock=lambda: clock[0]).run(lambda: 0.0 if polls else 100.0)
    assert (stats.outcome, stats.followed, stats.killed_runs) == ("ok", 1, 1)
    assert stats.fetched == 40
    reconcile = stack.clients("dynamodb").get_item(TableName=stack.names["StateTable"], Key={"pk": {"S": "reconcile"}})["Item"]
    assert reconcile  # the killed run's possible gap, for reconciliation to read back
    assert_nothing_lost(stack, sim.handed_out)
