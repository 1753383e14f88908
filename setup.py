"""Build configuration beside pyproject.toml: the optional C extension only.

``hivescan.hive._marvin`` (Marvin32, the hash of transaction-log entries) is compiled when
a C compiler and the Python headers are present; ``optional=True`` lets the install go on
without it, and ``hivescan/hive/marvin.py`` then uses its pure-Python code (``hivescan info``
says which one ran). The others (``_logwalk``, ``_keywalk``, ``_readhash``) are fast twins
of Python code that stays the reference, each optional the same way.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("hivescan.hive._marvin", ["hivescan/hive/_marvin.c"], optional=True),
        Extension("hivescan.scm._logwalk", ["hivescan/scm/_logwalk.c"], optional=True),
        Extension("hivescan.scm._keywalk", ["hivescan/scm/_keywalk.c"], optional=True),
        Extension("hivescan.hive._readhash", ["hivescan/hive/_readhash.c"], optional=True),
    ]
)
