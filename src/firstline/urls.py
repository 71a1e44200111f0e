from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from firstline.accounts import views as account_views
from firstline.api import api
from firstline.core import metrics
from firstline.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/v1/", api.urls),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("home/", account_views.home, name="home"),
    path("profile/", account_views.profile, name="profile"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", include("firstline.desk.urls")),
    path("manage/", include("firstline.manage.urls")),
    path("django-admin/", admin.site.urls),
    path("kb/", include("firstline.kb.urls")),
    path("", include("firstline.portal.urls")),
]
