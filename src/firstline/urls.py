from django.contrib import admin
from django.urls import path

from firstline.api import api
from firstline.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
