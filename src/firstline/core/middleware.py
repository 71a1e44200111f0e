import zoneinfo

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
