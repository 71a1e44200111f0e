from django.urls import path

from .views import categories, groups, home, organizations, users

app_name = "manage"
urlpatterns = [
    path("", home.home, name="home"),
    path("organizations/", organizations.organization_list, name="organizations"),
    path("organizations/new/", organizations.organization_create, name="organization_create"),
    path(
        "organizations/<slug:slug>/edit/", organizations.organization_edit, name="organization_edit"
    ),
    path("organizations/<slug:slug>/domains/", organizations.domain_add, name="domain_add"),
    path(
        "organizations/<slug:slug>/domains/remove/",
        organizations.domain_remove,
        name="domain_remove",
    ),
    path("users/", users.user_list, name="users"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<path:username>/edit/", users.user_edit, name="user_edit"),
    path("groups/", groups.group_list, name="groups"),
    path("groups/new/", groups.group_create, name="group_create"),
    path("groups/<slug:slug>/edit/", groups.group_edit, name="group_edit"),
    path("categories/", categories.category_list, name="categories"),
    path("categories/new/", categories.category_create, name="category_create"),
    path("categories/<int:category_id>/edit/", categories.category_edit, name="category_edit"),
]
