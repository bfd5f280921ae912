"""Collect mode: pull `/sms/{1,3}/reports` pages while the run has time for one more worst-case page.

A page with fewer reports than asked means Infobip has no more for now: the run ends, or, with
a poll interval, asks again after it while time allows (fresher reports, a longer run) and until
the next scheduled run asks for the lease (`state.RunState.follow`): then this one hands over.

Page N+1 is fetched, archived and parsed while page N is indexed, copied and checkpointed on the
storer thread. The overlap is safe because a page's raw bytes are in S3 before anything else
happens to it, and stays correct because the storer takes pages one at a time, in order (later
reports are never overtaken by earlier ones). Whatever ends the run, the page in flight is
finished (or has failed) before the run returns.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from dlr_vault.infobip import InfobipClient
from dlr_vault.observability import logger
from dlr_vault.pages import ReportsPage
from dlr_vault.run import Run
from dlr_vault.storing import PageStore

GARBAGE_STREAK_LIMIT = 3


def pull(
    run: Run,
    infobip: InfobipClient,
    store: PageStore,
    kind: ReportsPage,
    page_size: int,
    *,
    poll_interval: float = 0.0,
    sleep: Callable[[float], None],
    successor_waiting: Callable[[], bool] = lambda: False,
) -> None:
    """Pull until a page comes back short (with `poll_interval`: until time runs out or the next
    run asks for the lease, asking again that long after each short page), the time budget is
    spent, or pages keep being garbage."""
    fetch = partial(infobip.fetch_reports, page_size)
    garbage_streak = 0

    def reserve() -> float:
        return run.reserve(infobip.worst_case_seconds)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="storer") as storer:
        try:
            while run.time_left() > reserve():
                taken = store.take(run, fetch, kind)
                run.settle()
                run.in_flight = storer.submit(store.finish, run, taken, kind)
                if taken.parsed is None:
                    garbage_streak += 1
                    if garbage_streak >= GARBAGE_STREAK_LIMIT:
                        logger.error("several unparseable pages in a row; stopping this run's pulls")
                        break
                    continue
                garbage_streak = 0
                if len(taken.parsed.reports) < page_size:
                    if not poll_interval or run.time_left() - poll_interval <= reserve():
                        break
                    if successor_waiting():
                        logger.info("the next run asked for the lease; handing over")
                        run.stats.handed_over = 1
                        break
                    sleep(poll_interval)
            else:
                logger.info("time budget reached; the next run continues", extra={"time_left": round(run.time_left(), 1)})
        except BaseException:
            run.settle(quietly=True)
            raise
        run.settle()
