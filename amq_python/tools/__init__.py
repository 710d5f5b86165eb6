"""Command-line tools: ``amq-send`` (``send``) and ``amq-receive`` (``receive``).

Both take a connection URL and an address, and end with an exit status scripts can rely on
(``common.OK``, ``ERROR``, ``USAGE``, ``TIMEOUT``, ``INTERRUPTED``: 0, 1, 2, 3, 130; the table
is ``common.EXIT_CODES``, shown by both tools' --help).
"""
