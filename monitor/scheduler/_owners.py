"""Who a daemon is: its secrets for the log redactor, and whether another is gone."""

from __future__ import annotations

import os

from monitor.config import Config
from monitor.store import password_forms
from monitor.web import secrets_of


def config_secrets(config: Config) -> tuple[str, ...]:
    """Every secret of the config, the database password in each form it can be quoted
    in included: the log redactor blanks them in any line, a library's too."""
    return (*secrets_of(config), *password_forms(config.database))


def owner_is_dead(owner: str, me: str) -> bool:
    """Whether the daemon named ``owner`` (host:pid:nonce) is certainly gone.

    Only owners on this host can be checked: same pid with another nonce is an earlier
    life of this process (a container restarted as pid 1), any other pid must still run.
    """
    try:
        host, pid_text, _nonce = owner.rsplit(":", 2)
        my_host, my_pid, _ = me.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != my_host or owner == me:
        return False
    if pid_text == my_pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
