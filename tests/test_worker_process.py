"""The worker process (``bot.core.workers``) does not outlive the bot: a bot killed with SIGKILL cannot shut its pool
down, and the worker (with multiprocessing's resource tracker waiting for it) used to be left running for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = textwrap.dedent("""
    import asyncio, os
    from bot.core.workers import in_process

    async def main():
        print(await in_process(os.getpid), flush=True)
        await asyncio.sleep(120)

    if __name__ == "__main__":  # the worker is spawned: it imports this file again
        asyncio.run(main())
""")


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_the_worker_process_ends_when_the_bot_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "runner.py"
    script.write_text(BOT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bot = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        worker = int(bot.stdout.readline())
        assert worker != bot.pid and running(worker)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        deadline = time.monotonic() + 10
        while running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(worker), "the worker process outlived the bot that started it"
    finally:
        bot.kill()
        bot.wait()
