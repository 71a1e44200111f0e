from firstline.channels import selectors as mail_selectors
from firstline.core.decorators import manager_required

from .. import selectors
from .common import render_page


@manager_required
def home(request):
    counts = selectors.overview(request.user)
    mail = mail_selectors.problem_counts(request.user)
    return render_page(request, "manage/home.html", "home", {"counts": counts, "mail": mail})
