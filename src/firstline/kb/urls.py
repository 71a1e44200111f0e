from django.urls import path

from .views import desk, portal

app_name = "kb"
urlpatterns = [
    path("", portal.home, name="home"),
    path("categories/<int:pk>/", portal.category, name="category"),
    path("articles/<int:pk>/", portal.article, name="article"),
    path("articles/<int:pk>/rate/", portal.rate, name="rate"),
    path("search/", portal.search, name="search"),
    path("suggest/", portal.suggest, name="suggest"),
    path("top/", portal.top, name="top"),
    path("manage/", desk.article_list, name="manage_list"),
    path("manage/new/", desk.article_new, name="manage_new"),
    path("manage/top/", desk.top, name="manage_top"),
    path("manage/report/", desk.report, name="manage_report"),
    path("manage/<int:pk>/", desk.article_detail, name="manage_article"),
    path("manage/<int:pk>/edit/", desk.article_edit, name="manage_edit"),
    path("manage/<int:pk>/status/", desk.article_status, name="manage_status"),
    path("manage/<int:pk>/revisions/", desk.revisions, name="manage_revisions"),
    path("manage/<int:pk>/revisions/<int:number>/", desk.revision, name="manage_revision"),
    path("manage/tickets/<int:number>/", desk.ticket_panel, name="ticket_panel"),
    path("manage/tickets/<int:number>/insert/<int:pk>/", desk.insert, name="insert"),
    path("manage/tickets/<int:number>/solved/<int:pk>/", desk.solved, name="solved"),
    path("manage/tickets/<int:number>/document/", desk.document, name="document"),
]
