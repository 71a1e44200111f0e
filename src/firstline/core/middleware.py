import zoneinfo

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Speaks the language and shows times in the zone the user chose in their profile.

    Runs after authentication; without a profile choice, Django's LocaleMiddleware has already
    picked a language from the cookie or the browser's Accept-Language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
            if user.time_zone:
                try:
                    timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        response = self.get_response(request)
        timezone.deactivate()
        return response


API_PATH = "/api/"


def _api(request) -> bool:
    return request.path_info.startswith(API_PATH)


class _PagesOnly:
    """Skips the middleware for API requests. The API keeps no session: every request carries
    its token, so sessions, CSRF cookies, flash messages and the session user's preferences
    would only cost each API request time (4% of the Python work of a new ticket).
    Subclasses of Django's classes, so that the checks that require them still find them."""

    def __call__(self, request):
        if _api(request):
            return self.get_response(request)
        return super().__call__(request)


class PagesSessionMiddleware(_PagesOnly, SessionMiddleware):
    pass


class PagesCsrfViewMiddleware(_PagesOnly, CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if _api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class PagesAuthenticationMiddleware(_PagesOnly, AuthenticationMiddleware):
    pass


class PagesUserPreferencesMiddleware(_PagesOnly, UserPreferencesMiddleware):
    pass


class PagesMessageMiddleware(_PagesOnly, MessageMiddleware):
    pass
