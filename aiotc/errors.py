"""The errors aiotc reports to users.

Every problem a user can cause (bad model, bad option, impossible budget) is an
`AiotcError` subclass; the CLI prints its message as one line and exits with its
`exit_code`. Anything else escaping to the CLI is a bug in aiotc.
"""


class AiotcError(Exception):
    """A problem to report to the user as one line, with an exit code."""

    exit_code = 2


class ModelError(AiotcError):
    """The model file cannot be used: not a model, corrupt, or outside what aiotc supports."""


class UnsupportedOpsError(ModelError):
    """One or more ops of the model have no aiotc implementation; lists all of them at once, and what is supported."""

    def __init__(self, problems: list[str], supported: tuple[str, ...] = ()):
        self.problems = problems
        listing = f"; aiotc supports {', '.join(supported)} (`aiotc ops`)" if supported else ""
        super().__init__(f"unsupported: {'; '.join(problems)}{listing}")


class UsageError(AiotcError):
    """A command-line option or input file is wrong (unknown board, bad size, wrong input shape)."""


class ToolchainError(AiotcError):
    """A required external tool is missing or failed (gcc, arm-none-eabi-gcc, qemu-system-arm)."""


class CheckFailed(AiotcError):
    """A check the user asked for did not hold: a verify mismatch or a budget miss."""

    exit_code = 1


class BudgetError(CheckFailed):
    """The model does not fit the board's (or the requested) flash or SRAM budget."""
