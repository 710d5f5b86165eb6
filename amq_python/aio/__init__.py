"""asyncio for amq_python: a second driver of the same engine (``Container.run_async`` and the
``aio`` API over it), with no helper threads."""
