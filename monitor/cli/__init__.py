"""The command line: ``monitor COMMAND``; one module per command group.

``_run`` (run, fetch), ``_archive`` (rules test, search), ``_admin`` (status, alerts,
db), ``_extract`` (extract). Commands talk to the config, the pipeline, the scheduler
and the store's read side; they print, and never hold state of their own.
"""

from monitor.cli._codes import EXIT_CONFIG, EXIT_DATABASE, EXIT_FAILED
from monitor.cli._main import main

__all__ = ["EXIT_CONFIG", "EXIT_DATABASE", "EXIT_FAILED", "main"]
