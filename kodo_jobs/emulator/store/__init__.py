"""The emulator's object store: a ``Store`` protocol and its SQLite implementation.

One noun per module:

* ``protocol.py``: ``Store``, what handlers and services may ask (they are typed against it);
* ``sqlite.py``: ``SqliteStore``, the implementation composing the parts below;
* ``buckets.py``: the bucket table (exists, private flag, auto-create);
* ``objects.py``: object rows and lazy expiry;
* ``object_info.py``: ``ObjectInfo``, an object's metadata and its stat / list JSON;
* ``blobs.py``: object bytes, as files or inline rows (``INLINE_MAX``);
* ``changes.py``: metadata and lifecycle changes (chgm, chtype, lifecycle ...) and ``cond``;
* ``listing.py`` and ``markers.py``: rsf pages, delimiter groups and list markers.

The package exports the three names a caller needs to hold a store (``Store``, ``SqliteStore``,
``ObjectInfo``); everything else is imported from the module that defines it.
"""

from kodo_jobs.emulator.store.object_info import ObjectInfo
from kodo_jobs.emulator.store.protocol import Store
from kodo_jobs.emulator.store.sqlite import SqliteStore

__all__ = ["ObjectInfo", "SqliteStore", "Store"]
