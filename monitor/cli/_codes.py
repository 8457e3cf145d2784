"""The exit codes every command shares (README: 0 ok, 1 failed, 2 invalid config or
usage, 3 database unusable)."""

EXIT_FAILED, EXIT_CONFIG, EXIT_DATABASE = 1, 2, 3
