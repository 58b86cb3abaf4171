"""What every stage shares about errors: the one line of an exception that a user is shown.
Standard library only, so the runtime, training and the commands can all import it."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first non-empty line of `error`'s message (its type's name if it has none), at most
    `limit` characters: enough to name the problem, never a traceback or a multi-line dump."""
    for line in str(error).strip().splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(error).__name__
