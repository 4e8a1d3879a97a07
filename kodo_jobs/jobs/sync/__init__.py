"""The sync job kind: a local folder and a bucket prefix kept in step, in either direction.

Read in data-flow order: :mod:`.kind` (the ``JobKind``: plan and run), :mod:`.walk` and
:mod:`.filters` (the local side), :mod:`.march` and :mod:`.pairs` (local walk merged with the
remote listing), :mod:`.compare` (the verdict per pair), :mod:`.hashing` (etags, cached),
:mod:`.execute` (uploads and deletes), :mod:`.download` and :mod:`.download_check` (the bucket
-> folder direction), :mod:`.once` (``upload_once``) and :mod:`.trust` (saved plans re-checked).
"""
