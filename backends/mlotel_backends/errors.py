"""The one error every client raises, so a caller can tell "that backend failed" from a bug."""


class BackendError(Exception):
    """A backend did not answer as asked; ``unavailable`` tells an outage from a refused request."""

    def __init__(self, message: str, unavailable: bool = True) -> None:
        super().__init__(message)
        self.unavailable = unavailable
