from django.contrib.auth.backends import ModelBackend

from .models import User


class UsernameOrEmailBackend(ModelBackend):
    """People remember their e-mail address more often than a username."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and "@" in username:
            user = User.objects.filter(email__iexact=username.strip()).first()
            if user is None:
                User().set_password(password)  # same work as a real check: no timing oracle
                return None
            username = user.username
        return super().authenticate(request, username=username, password=password, **kwargs)
