"""In-progress resumable uploads: v1 blocks (``ctx``) and v2 sessions (``uploadId``).

One noun per module:

* ``resumable.py``: ``Uploads``, both kinds for one data folder (``.v1``, ``.v2``), expiry;
* ``blocks.py``: v1 ``mkblk`` / ``bput`` / ``mkfile`` blocks and their ctx tokens;
* ``sessions.py``: v2 sessions, parts, Content-MD5, complete's part-list checks;
* ``in_place.py``: v2 parts written into one assembly file that can become the object;
* ``assembled.py``: ``Assembled``, a completed upload's content handed to the store;
* ``filecopy.py``: linking, appending and hashing files without a second pass in Python.

The package exports ``Uploads`` and ``Assembled``; everything else is imported from the module
that defines it.
"""

from kodo_jobs.emulator.uploads.assembled import Assembled
from kodo_jobs.emulator.uploads.resumable import Uploads

__all__ = ["Assembled", "Uploads"]
