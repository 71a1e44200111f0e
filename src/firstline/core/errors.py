"""Errors that services raise and every front end (API, web, CLI) turns into a clear answer."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self


class ServiceError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra

    @classmethod
    def for_field(cls, field: str, message: str) -> Self:
        return cls(message, {field: [message]})


class InvalidInput(ServiceError):
    status = 422


class NotAllowed(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PayloadTooLarge(ServiceError):
    status = 413


class UnsupportedMediaType(ServiceError):
    status = 415


@contextmanager
def as_field_error(field: str) -> Iterator[None]:
    """A reference in a request body to something missing is bad input (422), not a 404."""
    try:
        yield
    except NotFound as exc:
        raise InvalidInput(exc.message, {field: [exc.message]}) from None
