"""Once the bot serves, settle it for a long run: what would otherwise fall on the turns of the first busy evening.

- The modules of the slow work (a roster import, the committee's report) are imported now, in a thread: imported on
  first use they ran on the event loop (50–70 ms, an XML parser among them) while households were in the form.
- The worker process (``bot/core/workers.py``) is started now, not by the first job.
- The objects of start-up (the modules, the catalogue, the configuration: ~90,000 objects) are moved out of the
  garbage collector's sight (``gc.freeze``): every full collection walked them all and held the loop for 75–95 ms on
  a 2-core machine, with the turns waiting behind it. Later collections walk only what the bot creates as it runs.
  The price: a cycle among those objects that becomes garbage later is never freed (start-up objects live as long as
  the process anyway).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging

from bot.core import workers

log = logging.getLogger(__name__)
SLOW_WORK_MODULES = ("bot.dialogues.roster", "bot.reports.build", "bot.reports.delivery", "bot.reports.report_files")


def _import_slow_work() -> None:
    for name in SLOW_WORK_MODULES:
        importlib.import_module(name)


async def settle() -> None:
    """Import the slow work's modules, start the worker process, then freeze what start-up allocated."""
    try:
        await asyncio.to_thread(_import_slow_work)
    except Exception as exc:  # a broken install: the job that needs the module says so when it runs
        log.warning("the slow work's modules could not be imported ahead (%s)", type(exc).__name__)
    try:
        pid = await workers.warm_up()
    except Exception as exc:  # the bot serves without it; the first job starts a new one (or says why it cannot)
        workers.shutdown()
        log.warning("the worker process could not be started ahead (%s): the first slow job will start it",
                    type(exc).__name__)
    else:
        log.info("worker process %d ready", pid)
    gc.collect()
    gc.freeze()
