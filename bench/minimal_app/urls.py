from django.urls import path
from ninja import NinjaAPI, Schema

from .models import Row

api = NinjaAPI()


class RowIn(Schema):
    subject: str
    description: str = ""
    priority: str = "normal"


class RowOut(Schema):
    id: int


@api.post("/rows", response={201: RowOut})
def create_row(request, payload: RowIn):
    row = Row.objects.create(payload=payload.subject)
    return 201, {"id": row.pk}


urlpatterns = [path("api/", api.urls)]
