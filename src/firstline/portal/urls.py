from django.urls import path

from .views import home, requests, signup

app_name = "portal"
urlpatterns = [
    path("", home.home, name="home"),
    path("requests/new/", requests.submit, name="submit"),
    path("requests/<int:number>/", requests.detail, name="request"),
    path("requests/<int:number>/reply/", requests.reply, name="reply"),
    path("requests/<int:number>/solve/", requests.solve, name="solve"),
    path("requests/<int:number>/reopen/", requests.reopen, name="reopen"),
    path(
        "requests/<int:number>/attachments/<int:attachment_id>/",
        requests.download,
        name="attachment",
    ),
    path("signup/", signup.signup, name="signup"),
]
