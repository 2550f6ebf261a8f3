"""Exit codes of every command (README "Exit codes")."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2  # reconcile: unexpected drift open; webhooks status: not active
EXIT_USAGE = 64  # EX_USAGE: the command line is wrong
EXIT_CONFIG = 78  # EX_CONFIG: an environment variable is invalid



class CommandRefused(Exception):
    """A command declines to run; the message is the one line the operator reads."""

    exit_code = EXIT_ERROR
