"""The one exception type users see: a problem with their input, reported in one clear line."""


class UserInputError(ValueError):
    """Bad input from the user (data, flags, names). The CLI prints it and exits with status 2."""
