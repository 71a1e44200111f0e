"""The REST API under /api/v1/: authentication, error format and the routers of each app."""

import logging

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from firstline.accounts.services import authenticate_api_token
from firstline.core.errors import ServiceError

logger = logging.getLogger("django")  # where django-ninja's HttpBearer logs


class TokenAuth(HttpBearer):
    def __call__(self, request):
        """HttpBearer's reading of `Authorization: Bearer <token>`, from the WSGI environ:
        `request.headers`, which it uses, first copies every header of the request."""
        given = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _space, token = given.partition(" ")
        if scheme.lower() != self.openapi_scheme:
            if settings.DEBUG and given:
                logger.error("Unexpected auth - '%s'", given)
            return None
        return self.authenticate(request, token)

    def authenticate(self, request, token: str):
        user = authenticate_api_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Firstline API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
)


SCHEMA_PARAMS = ("payload", "query")  # the names handlers give their body and query schemas


def _field_name(loc: list) -> str:
    """`["body", "payload", "subject"]` -> `subject`: the field as the client sent it."""
    parts = [str(p) for p in loc[1:]]
    if len(parts) > 1 and parts[0] in SCHEMA_PARAMS:
        parts = parts[1:]
    return ".".join(parts) or str(loc[0]) if loc else "body"


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        field = _field_name(error.get("loc", []))
        errors.setdefault(field, []).append(error.get("msg", _("Invalid")))
    return api.create_response(
        request, {"message": _("The request is not valid."), "errors": errors}, status=422
    )


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    body = {"message": exc.message, "errors": exc.errors, **exc.extra}
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc: AuthenticationError):
    response = api.create_response(
        request,
        {"message": _("Authentication required: send 'Authorization: Bearer <token>'.")},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(request, {"message": str(exc), "errors": {}}, status=exc.status_code)


@api.exception_handler(Http404)
def on_not_found(request, exc: Http404):
    return api.create_response(request, {"message": _("Not found."), "errors": {}}, status=404)


def _mount_routers() -> None:
    from firstline.accounts.api import router as accounts_router
    from firstline.channels.api import router as channels_router
    from firstline.kb.api import router as kb_router
    from firstline.search.api import router as search_router
    from firstline.sla.api import router as sla_router
    from firstline.tickets.api import router as tickets_router

    api.add_router("/", accounts_router)
    api.add_router("/", tickets_router)
    api.add_router("/", channels_router)
    api.add_router("/", sla_router)
    api.add_router("/", search_router)
    api.add_router("/", kb_router)


_mount_routers()
