"""``tensionwatch up``: the collector in this process, the dashboard in a child process.

Both stay up until Ctrl-C or SIGTERM, then both stop. If the dashboard dies
on its own, the collector stops too and the exit status says so: a half-up
system is worse than a clearly failed one.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

import dashboard
from model import TensionwatchError
from storage.items import count_items
from tensionwatch.config import Settings
from tensionwatch.service import CollectorService

log = logging.getLogger(__name__)
DASHBOARD_STOP_SECONDS = 10


def dashboard_command(settings: Settings) -> list[str]:
    app = Path(dashboard.__file__).resolve().parent / "app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", settings.dashboard_host,
        "--server.port", str(settings.dashboard_port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def dashboard_env(settings: Settings) -> dict[str, str]:
    """The child's environment: the same settings, the database as an absolute path."""
    env = dict(os.environ)
    env["TENSIONWATCH_DATABASE"] = str(settings.database.resolve())
    if settings.config_path is not None:
        env["TENSIONWATCH_CONFIG"] = str(settings.config_path.resolve())
    return env


def start_dashboard(settings: Settings) -> subprocess.Popen[bytes]:
    log.info("dashboard: http://%s:%d", settings.dashboard_host, settings.dashboard_port)
    return subprocess.Popen(dashboard_command(settings), env=dashboard_env(settings))


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(DASHBOARD_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def collect_archive_first(service: CollectorService) -> None:
    """On an empty database, collect the bundled archive before anything else, so a new
    user's first dashboard is full (through the normal collector path)."""
    with service.connection() as db:
        empty = count_items(db) == 0
    archive = [f for f in service.settings.enabled_feeds if f.archive]
    if empty and archive:
        outcomes = service.collect_once(archive)
        new = sum(o.new for o in outcomes)
        log.info("archive collected: %d items from %d files", new, len(archive))


def run_up(settings: Settings) -> int:
    stop = threading.Event()
    stop_on_signals(stop)
    service = CollectorService(settings)
    try:
        collect_archive_first(service)
        process = start_dashboard(settings)
        collector = threading.Thread(target=service.run_scheduled, args=(stop,), daemon=True)
        collector.start()
        status = 0
        while not stop.wait(1.0):
            if process.poll() is not None:
                log.error("the dashboard exited with status %s; stopping", process.returncode)
                status = 1
                stop.set()
            elif not collector.is_alive():
                log.error("the collector stopped unexpectedly; stopping")
                status = 1
                stop.set()
        stop_process(process)
        collector.join(timeout=DASHBOARD_STOP_SECONDS)
        return status
    except TensionwatchError:
        stop.set()
        raise
    finally:
        service.close()


def run_collector(settings: Settings) -> int:
    """The collector alone (the compose service): polls until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    stop_on_signals(stop)
    service = CollectorService(settings)
    try:
        collect_archive_first(service)
        service.run_scheduled(stop)
    finally:
        service.close()
    return 0


def exec_dashboard(settings: Settings) -> None:
    """The dashboard alone: this process becomes Streamlit."""
    command = dashboard_command(settings)
    os.execve(sys.executable, command, dashboard_env(settings))
