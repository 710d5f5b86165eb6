"""``python -m amq_python.broker``: run the embedded development broker (see ``cli``)."""

from .cli import main

raise SystemExit(main())
