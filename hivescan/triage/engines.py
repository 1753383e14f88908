"""Executors for triage: local worker processes, or a Dask cluster.

Both are plain ``concurrent.futures.Executor`` objects, so :func:`run_triage` has one
code path. Local pools start their workers with ``forkserver`` where the platform has it
(``spawn`` elsewhere): a fresh, single-threaded parent, so a progress bar's thread in the
driver can never be copied into a worker mid-lock. Like Dask's workers, such workers import
the driver's main module; a script that calls triage needs an
``if __name__ == "__main__":`` guard (the ``hivescan`` command has one).

Dask is an optional extra (``pip install 'hivescan[scale]'``). ``address`` is a scheduler
address (``tcp://host:8786``) or ``local`` for a ``LocalCluster`` of this machine's cores.
Every Dask worker needs the same hivescan version installed; this is checked on connect.

References: images-and-scale.md §2 (measured engines, gotchas).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from hivescan.errors import ExitCode, HivescanError


class EngineError(HivescanError):
    """The requested executor cannot be set up (missing extra, unreachable scheduler)."""

    exit_code = ExitCode.USAGE


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# __main__: multiprocessing's own default; forkserver_exit: the forkserver's end without the
# interpreter's teardown (hivescan.quickexit)
PRELOAD = ("__main__", "hivescan.triage.preload", "hivescan.triage.forkserver_exit")


def local_executor(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes (forkserver where available), the forkserver started.

    The forkserver preloads :mod:`hivescan.triage.preload` (modules, rules compiled, catalog
    indexes) once, so workers forked from it start warm. The preload list is set only while
    the forkserver has not started; a forkserver already running keeps its own."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context())


def start_local_pool(jobs: int | None = None) -> None:
    """Start the forkserver of a local pool now, if the run will have one (more than one job).

    Why: its preload is the longest serial step of a run's start (about 0.8 s of a core; no
    worker runs before it ends). Started first thing, it runs while this process imports what
    the run needs (pyarrow, the output folder, the summary: about 0.3 s of the other core)
    and finds the inputs; :func:`local_executor` later finds it running."""
    if (jobs or default_jobs()) > 1:
        _pool_context()


def _pool_context() -> Any:
    """The start method of local pools: forkserver (started, preloading) where there is one."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    # Start it now, not at the first task: the preload then runs while this process finds the
    # inputs and opens the output folder, instead of after. Starting it does not wait for the
    # preload; the first worker does.
    from multiprocessing import forkserver

    forkserver.ensure_running()
    return context


@contextmanager
def local_engine(jobs: int | None = None) -> Iterator[tuple[Executor | None, int]]:
    """(executor, workers) for this machine: a process pool, or None (in this process) for one job.

    Leaving it shuts the pool down without waiting for the workers to exit (about 50 ms of a
    run's serial end): they exit while the caller summarises the run. Nothing is left behind:
    the interpreter's exit joins them (``concurrent.futures`` registers that), and tasks not
    started are cancelled by :func:`~hivescan.triage.run.iter_chunks` before this returns."""
    workers = jobs or default_jobs()
    if workers == 1:
        yield None, 1
        return
    pool = local_executor(workers)
    try:
        yield pool, workers
    finally:
        pool.shutdown(wait=False)


def _worker_versions() -> dict[str, str]:
    import platform

    import hivescan

    return {"hivescan": hivescan.__version__, "python": platform.python_version()}


# Dask's own background work in a LocalCluster we start: the statistical profiler samples
# every worker thread each 10 ms, the GIL monitor each 1 ms, the event-loop tick runs each
# 20 ms, the memory monitor each 100 ms. Measured on this 2-core machine, an idle 2-worker
# cluster burnt 83-89 ms of CPU per second with the defaults and 18 ms with these; on a
# loaded machine, where a 60-hive run lasts minutes, that was most of --dask's extra CPU per
# hive. Nothing here changes what the tasks compute; the nanny still restarts a worker over
# its memory limit (checked each second instead of each 100 ms). Only for ``--dask local``:
# the workers of a cluster given by address keep their own configuration.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


@contextmanager
def dask_executor(address: str, jobs: int | None = None, timeout_s: float = 20.0) -> Iterator[tuple[Executor, int]]:
    """Connect to a Dask scheduler (or start a local cluster); yield (executor, workers).

    The executor is ``Client.get_executor(pure=False)``: every submitted batch runs, even
    when two batches are equal.
    """
    try:
        import dask.config
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise EngineError("--dask needs the optional Dask packages: pip install 'hivescan[scale]'") from exc
    with dask.config.set(local_cluster_config() if address == "local" else {}):
        if address == "local":
            _start_dask_forkserver()
        yield from _connect(address, jobs, timeout_s, Client, LocalCluster)


def local_cluster_config() -> dict[str, Any]:
    """The configuration of a ``--dask local`` cluster: :data:`LOCAL_CLUSTER_CONFIG`, and its
    worker processes forked from a preloaded forkserver where the platform has one.

    Why: Dask's default start method, ``spawn``, starts every worker as a fresh interpreter
    that imports distributed (~0.35 s of CPU) and then, at its first task, all of hivescan
    (the preload's ~0.9 s): measured on this 2-core machine over a 60-host run, each of the two
    workers burnt ~1.3 s more than a pool worker, ~35 ms of CPU per hive in all. Forked from a
    forkserver that imported distributed and :mod:`hivescan.triage.preload` once, the workers
    start warm, as the pool's do. Only for the cluster we start: the workers of a cluster given
    by address keep their own configuration (their own ``--preload``, see the README)."""
    config = dict(LOCAL_CLUSTER_CONFIG)
    if "forkserver" in multiprocessing.get_all_start_methods():
        config["distributed.worker.multiprocessing-method"] = "forkserver"
    return config


def _start_dask_forkserver() -> None:
    """Start the forkserver the local cluster's nannies fork workers from, preloading hivescan.

    distributed sets its own preload list once per process, the first time it is asked for its
    forkserver context (:func:`distributed.utils.get_mp_context`, which also imports that list
    here); asked first here, the list is then ours: theirs (distributed) plus the pool's. A
    forkserver already running (a local pool earlier in this process) keeps its own list; the
    workers then import what it lacks themselves: slower, never different."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from distributed.utils import get_mp_context

    context = get_mp_context()
    context.set_forkserver_preload([*PRELOAD, "distributed"])
    from multiprocessing import forkserver

    forkserver.ensure_running()


def _connect(
    address: str, jobs: int | None, timeout_s: float, client_class: Any, cluster_class: Any
) -> Iterator[tuple[Executor, int]]:
    """The client (and the local cluster) of :func:`dask_executor`, closed when done."""
    cluster: Any = None
    try:
        if address == "local":
            cluster = cluster_class(
                n_workers=jobs or default_jobs(), threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = client_class(cluster)
        else:
            client = client_class(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise EngineError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        here = _worker_versions()
        for worker, versions in client.run(_worker_versions).items():
            if versions != here:
                raise EngineError(
                    f"Dask worker {worker} runs hivescan {versions['hivescan']} on Python {versions['python']}; "
                    f"this client has hivescan {here['hivescan']} on Python {here['python']}: "
                    "install the same on every worker"
                )
        workers = max(1, sum(client.nthreads().values()))
        yield client.get_executor(pure=False), workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
