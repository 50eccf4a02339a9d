"""A Dask distributed cluster as a `concurrent.futures` executor for the two heavy, pure stages.

`connect("tcp://HOST:PORT")` opens a client of the scheduler, checks that it has workers and that each
worker has this project installed (the same version: a different renderer would give different bytes),
and yields a `ClusterExecutor`. `mailing.production.produce` and `mailing.scanrun.scan` take it as their
`executor`; the store stays with the caller, which also writes every file.

The workers need nothing but the project with its `cluster` extra and `dask worker
tcp://HOST:PORT`: they never see the caller's folders. So a remote executor is told apart by `remote =
True`, and the stages then ship bytes instead of paths: a rendered batch comes back as its PDF's bytes
(the caller writes it atomically), a scanned file goes out as its bytes, once per file (`share`, Dask's
scatter; the workers fetch it from each other).

Dask is imported only here and only on `connect`: without the `cluster` extra everything else works, and
`--cluster` says in one line what to install.
"""

from __future__ import annotations

import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mailing.errors import MailingError

CONNECT_TIMEOUT_S = 10.0  # a scheduler that does not answer within this is named as unreachable
WORKER_WAIT_S = 20.0  # how long a scheduler without workers is given to get one (workers starting up)
_ADDRESS = re.compile(r"^(?:tcp://)?(?P<host>\[[0-9a-fA-F:]+\]|[^:/\s]+):(?P<port>\d{1,5})$")

__all__ = ["ClusterError", "ClusterExecutor", "connect", "is_remote", "local_cluster", "parse_address"]


class ClusterError(MailingError):
    """The cluster cannot be used (address, scheduler, workers, installation); one line, what to do."""


def parse_address(address: str) -> tuple[str, int]:
    """`tcp://HOST:PORT` (or `HOST:PORT`) → (host, port); anything else is a ClusterError."""
    m = _ADDRESS.match(address.strip())
    if not m or not 0 < int(m["port"]) < 65536:
        raise ClusterError(f"--cluster {address!r}: give the Dask scheduler as tcp://HOST:PORT, "
                           "e.g. tcp://192.0.2.10:8786")
    return m["host"].strip("[]"), int(m["port"])


def is_remote(executor: Executor | None) -> bool:
    """True for an executor whose workers do not see this machine's files (they get bytes, not paths)."""
    return bool(getattr(executor, "remote", False))


class ClusterExecutor(Executor):
    """`concurrent.futures` executor on a Dask cluster (distributed's `Client.get_executor()`)."""

    remote = True

    def __init__(self, client: Any) -> None:
        from distributed.scheduler import KilledWorker

        self._client = client
        self._inner = client.get_executor(pure=False)  # every call runs: rendering again must not be skipped
        self.max_workers = max(1, sum(client.nthreads().values()))
        self.lost_errors: tuple[type[BaseException], ...] = (KilledWorker,)  # a task that killed its workers

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._inner.submit(fn, *args, **kwargs)

    def share(self, data: bytes) -> Any:
        """Send `data` to the cluster once; the handle can be passed to `submit` in place of the bytes."""
        return self._client.scatter(data, hash=False)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait)


def _reachable(host: str, port: int, address: str) -> None:
    """Fail at once, in one line, when nothing listens at the address (Dask itself retries for its timeout)."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({why}); start it with `dask scheduler` "
                           "on that machine, or check host, port and firewall") from exc


def worker_version() -> str:
    """Run on each worker: the project's version there. It travels by reference (mailing.cluster), so a
    worker without the project cannot even load it."""
    import layouts.render  # noqa: F401 - the stages the workers run must import there
    import scanning.pipeline  # noqa: F401
    from mailing import __version__

    return __version__


def _check_workers(client: Any, address: str) -> None:
    from mailing import __version__

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (TimeoutError, OSError) as exc:
        raise ClusterError(f"the Dask scheduler at {address} has no workers; start them with "
                           f"`dask worker {address}` on each machine") from exc
    found = client.run(worker_version, on_error="return")
    for worker, got in sorted(found.items()):
        if isinstance(got, BaseException):
            raise ClusterError(f"worker {worker} of {address} does not have the project installed "
                               f"({type(got).__name__}); install it there with its cluster extra (pip install "
                               "'mailing-*.whl[cluster]') and restart the worker")
        if got != __version__:
            raise ClusterError(f"worker {worker} of {address} runs mailing {got}, this machine {__version__}; "
                               "install the same version on every worker (the output must be identical)")


@contextmanager
def connect(address: str) -> Iterator[ClusterExecutor]:
    """An executor on the Dask cluster whose scheduler listens at `address` (tcp://HOST:PORT)."""
    host, port = parse_address(address)
    url = f"tcp://{host}:{port}" if ":" not in host else f"tcp://[{host}]:{port}"
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError("--cluster needs Dask distributed: install the project with its cluster extra "
                           "(pip install -e '.[cluster]')") from exc
    _reachable(host, port, url)
    try:
        client = Client(url, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot connect to the Dask scheduler at {url} ({str(exc).splitlines()[0]}); is a "
                           "`dask scheduler` listening there (not another program)?") from exc
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    try:
        _check_workers(client, url)
        executor = ClusterExecutor(client)
        try:
            yield executor
        except (KilledWorker, CommClosedError, CancelledError) as exc:
            # what was finished is recorded: produce resumes, a page scanned again changes nothing
            raise ClusterError(f"the Dask cluster at {url} stopped the work ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else 'a worker or the scheduler went away'}); "
                               "what was finished is recorded: run the same command again") from exc
        finally:
            executor.shutdown(wait=False)
    finally:
        client.close()


# ------------------------------------------------------------------------------- a cluster on this machine
def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _dask_command() -> list[str]:
    here = Path(sys.executable).with_name("dask")
    return [str(here)] if here.exists() else [sys.executable, "-m", "dask"]


@contextmanager
def local_cluster(workers: int = 1, threads: int = 1, *, host: str = "127.0.0.1",
                  start_timeout_s: float = 120.0) -> Iterator[str]:
    """A real cluster on this machine for tests and benchmarks: `dask scheduler` and `workers` times
    `dask worker` as processes (as on several machines, only on one), on free ports of `host`; yields the
    scheduler's address and stops them all afterwards."""
    import subprocess

    port = _free_port(host)
    address = f"tcp://{host}:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="mailing-dask-") as work:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": work}
        try:
            procs.append(subprocess.Popen([*_dask_command(), "scheduler", "--host", host, "--port", str(port),
                                           "--no-dashboard"], **quiet))  # type: ignore[call-overload]
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    socket.create_connection((host, port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or procs[0].poll() is not None:
                        raise ClusterError(f"`dask scheduler` did not start at {address}") from None
                    time.sleep(0.1)
            for _ in range(workers):
                procs.append(subprocess.Popen([*_dask_command(), "worker", address, "--nthreads", str(threads),
                                               "--no-dashboard", "--local-directory", work,
                                               "--host", host], **quiet))  # type: ignore[call-overload]
            if workers:
                from distributed import Client

                with Client(address, timeout=start_timeout_s, set_as_default=False) as client:
                    client.wait_for_workers(workers, timeout=start_timeout_s)
            yield address
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in reversed(procs):
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
