"""The files a service points at, read out of a folder, a collection or a disk image.

A source beside :mod:`hivescan.hive`: :mod:`.source` reads files by their Windows path
(case-insensitive) from a ``--root`` folder (mounted volume, KAPE or Velociraptor layout) or
a disk image; :mod:`.pe`, :mod:`.authenticode`, :mod:`.catalogs` and :mod:`.trust` are pure
functions over bytes; :mod:`.facts` joins them into one JSON-ready mapping per file. Nothing
here knows about services: :mod:`hivescan.system` attaches the facts to records.
"""
