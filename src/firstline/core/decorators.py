"""Access to whole areas of the web UI; which tickets a user sees is the selectors' job."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def _role_required(check):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


agent_required = _role_required(lambda user: user.is_agent)
manager_required = _role_required(lambda user: user.sees_all_tickets)
admin_required = _role_required(lambda user: user.is_admin)
