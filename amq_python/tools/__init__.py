"""Command-line tools: ``amq-send`` (``send``) and ``amq-receive`` (``receive``).

Both take a connection URL and an address, and end with an exit status scripts can rely on
(``common.OK``, ``ERROR``, ``USAGE``, ``TIMEOUT``: 0, 1, 2, 3).
"""
