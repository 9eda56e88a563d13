"""The one base of the errors that the duty rules raise."""


class DomainError(Exception):
    """A request the rules refuse; `message` is Chinese and shown to the user as it is."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code
