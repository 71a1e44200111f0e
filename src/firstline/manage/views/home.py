from firstline.core.decorators import manager_required

from .. import selectors
from .common import render_page


@manager_required
def home(request):
    counts = selectors.overview(request.user)
    return render_page(request, "manage/home.html", "home", {"counts": counts})
