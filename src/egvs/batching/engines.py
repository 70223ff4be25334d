"""Where batch tasks run: a local process pool or a Ray cluster. Both run `tasks.run_task` in
workers that load their models once, and yield `Result`s as videos finish.

On an exception in the driver (Ctrl-C, SIGTERM) or when the consumer closes the generator, the
workers are stopped and waited for before it propagates, so the caller can then remove what
they left half-written.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Generator, Sequence

from egvs.batching.tasks import Result, Task, VideoWorker, failed, init_worker, run_task

logger = logging.getLogger("egvs")
STOP_TIMEOUT = 30.0  # seconds a stopped worker gets to unwind before it is killed


def cpu_count() -> int:
    """The CPUs this process may use (its affinity mask, e.g. a container's share)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def local_results(
    tasks: Sequence[Task], workers: int, threads: int
) -> Generator[Result, None, None]:
    """Run ``tasks`` in ``workers`` processes (forkserver, else spawn: no inherited threads or
    locks), each capped at ``threads`` threads."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    executor = ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(tasks))),
        mp_context=multiprocessing.get_context(method),
        initializer=init_worker,
        initargs=(threads,),
    )
    try:
        futures = {executor.submit(run_task, task): task for task in tasks}  # starts the workers
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # the worker process died (killed, out of memory)
                result = failed(futures[future], exc)
            yield result
    except BaseException:
        _stop_processes(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _stop_processes(executor) -> None:
    """SIGTERM every worker (its running video unwinds and removes its temporary files), then
    wait for them and for the pool's manager thread. ``_processes``: Python 3.14 makes this
    public as ``terminate_workers()``.

    The manager is joined here because ``shutdown(wait=False)`` forgets it: left running, it
    closes its wake-up pipe while the interpreter's exit writes to it ("Exception ignored ...
    Bad file descriptor" on stderr past ``-q``)."""
    processes = list((executor._processes or {}).values())
    manager = executor._executor_manager_thread
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(STOP_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()
    if manager is not None:
        manager.join(STOP_TIMEOUT)  # it sees the workers gone and ends


def ray_results(
    tasks: Sequence[Task], workers: int | None, cpus: int, address: str | None
) -> Generator[Result, None, None]:
    """Run ``tasks`` on Ray actors that each hold their models and ask for ``cpus`` CPUs, so the
    scheduler places as many as the cluster fits. ``address``: ``auto`` or a head's address;
    None starts a local Ray on this machine's CPUs. ``workers``: None uses every CPU."""
    import ray
    from ray.exceptions import RayError

    own = not ray.is_initialized()
    if own:
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        ray.init(
            address=address,
            num_cpus=None if address else cpu_count(),
            include_dashboard=False,
            # -q: Ray's own notices (such as its token-authentication warning) stay unprinted too
            logging_level="warning" if logger.isEnabledFor(logging.WARNING) else "error",
        )
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():  # Ray's would exit without stopping cleanly
                signal.signal(sig, handler)
    try:
        fits = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
        if workers is None or (workers > fits and address is None):
            workers = fits  # more actors than a fixed local Ray fits would never start
        elif workers > fits:
            logger.warning(
                "%d workers of %d CPUs asked, the cluster has room for %d now: the others start "
                "when it grows",
                workers,
                cpus,
                fits,
            )
        actor_class = ray.remote(num_cpus=cpus)(VideoWorker)
        idle = [actor_class.remote(cpus) for _ in range(max(1, min(workers, len(tasks))))]
        actors = list(idle)
        pending = list(reversed(tasks))
        running: dict = {}  # ObjectRef -> (actor, task)
        try:
            while pending or running:
                while idle and pending:
                    actor, task = idle.pop(), pending.pop()
                    running[actor.run.remote(task)] = (actor, task)
                [ref], _ = ray.wait(list(running), num_returns=1)
                actor, task = running.pop(ref)
                try:
                    result = ray.get(ref)
                except RayError as exc:  # the actor died (killed, out of memory): replace it
                    result = failed(task, exc)
                    actor = actor_class.remote(cpus)
                    actors.append(actor)
                idle.append(actor)
                yield result
        except BaseException:
            for actor in actors:
                ray.kill(actor, no_restart=True)
            if running:
                ray.wait(list(running), num_returns=len(running), timeout=STOP_TIMEOUT)
            raise
    finally:
        if own:
            ray.shutdown()
