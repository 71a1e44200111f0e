from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from firstline.accounts import services
from firstline.accounts.selectors import signup_possible
from firstline.core.errors import ServiceError
from firstline.core.forms import add_service_error

from ..forms import SignupForm


def signup(request):
    """Creates a requester account: open to all with ALLOW_SIGNUP, otherwise only to e-mail
    addresses whose domain belongs to an organization (which the new account joins)."""
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = SignupForm(request.POST or None, open_to_all=settings.ALLOW_SIGNUP)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(
                actor=None,
                username=data["username"],
                email=data["email"],
                first_name=data["name"],
                password=data["password1"],
                organization=form.organization,
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"password": "password1"})
        else:
            login(request, user)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("portal:home")
    context = {
        "form": form,
        "open_to_all": settings.ALLOW_SIGNUP,
        "possible": signup_possible(),
    }
    return render(request, "portal/signup.html", context)
