"""Exit codes of every command (README "Exit codes")."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2  # reconcile: unexpected drift is open (terraform plan -detailed-exitcode)
EXIT_USAGE = 2  # argparse's own code for a usage error
EXIT_CONFIG = 78  # EX_CONFIG: an environment variable is invalid
