"""A variant of the portal for measuring a proposal before it is made (bench only).

    daphne bench.variant_threaded:application   # database work on ASGI_THREADS threads, not one thread

Channels' ``database_sync_to_async`` is thread-sensitive: every database call of a daphne process runs
on one shared thread, so a process commits one transaction at a time and waits for each fsync alone.
``threaded`` swaps it for the non-thread-sensitive variant before the consumers are imported, which is
what the proposal in docs/benchmarks.md would write in chat/consumers.py.
"""
import functools
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import channels.db  # noqa: E402

channels.db.database_sync_to_async = functools.partial(channels.db.DatabaseSyncToAsync, thread_sensitive=False)

from portal.asgi import application  # noqa: E402,F401
