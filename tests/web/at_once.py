"""Several answers to one letter at the same moment (threads released together by a barrier)."""

from __future__ import annotations

import threading

from mailing.respond import respond
from mailing.store import Store


def answer_at_once(store: Store, code: str, times: int = 6) -> tuple[list[str], list[Exception]]:
    """`times` answers to `code`, online and by phone in turn, started together; (outcome statuses, errors)."""
    start = threading.Barrier(times)
    results: list[str] = []
    errors: list[Exception] = []

    def one(channel: str) -> None:
        try:
            start.wait()
            results.append(respond(store, code, {"info": True}, channel).status)
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=one, args=("online" if i % 2 else "phone",)) for i in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors
