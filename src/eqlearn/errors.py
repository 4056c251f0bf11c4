"""The one exception type users see: a problem with their input, reported in one clear line."""


class UserInputError(ValueError):
    """Bad input from the user (data, flags, names). The CLI prints it and exits with status 2."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the message says what was saved and how to continue. The CLI prints it
    (one line, no traceback) and exits with status 130."""
