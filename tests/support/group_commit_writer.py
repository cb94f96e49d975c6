"""A process that appends as fast as it can from many threads through one recorder (so
its appends commit in groups) and prints each append once it is acknowledged:
`<aggregate id> <last version> <last position>`, and `group <n>` before it writes a
group of n appends. Killed by the group commit tests.

    python -m tests.support.group_commit_writer <conninfo> <schema> <threads>
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from uuid import uuid4

from eventsourcing.persistence import StoredEvent

from eventstore.contexts import Context
from eventstore.datastore import datastore_on
from eventstore.recorder import Append, PaystreamRecorder

EVENTS_PER_APPEND = 2


def main(conninfo: str, schema: str, threads: int) -> None:
    datastore = datastore_on(conninfo, schema, 2)
    recorder = PaystreamRecorder(datastore, events_table_name=Context(schema).events_table)
    recorder.create_table()
    printing = threading.Lock()
    write_group = recorder.groups._write

    def announced(appends: list[Append]) -> Sequence[Sequence[int] | Exception]:
        with printing:
            print("group", len(appends), flush=True)
        return write_group(appends)

    recorder.groups._write = announced

    def write() -> None:
        aggregate = uuid4()
        version = 0
        while True:
            events = [
                StoredEvent(aggregate, version + i, "topic", b'{"n": 1}')
                for i in range(1, EVENTS_PER_APPEND + 1)
            ]
            positions = recorder.insert_events(events)
            assert positions is not None
            version += EVENTS_PER_APPEND
            with printing:
                print(aggregate, version, max(positions), flush=True)

    for _ in range(threads):
        threading.Thread(target=write, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
