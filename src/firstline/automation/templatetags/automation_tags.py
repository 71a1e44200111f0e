from django import template

from .. import history, selectors

register = template.Library()


@register.filter
def automation_note(note: str) -> str:
    """A history entry's note as written by automation (a rule, a macro, auto-close), in the
    reader's language."""
    return history.describe(note or "")


@register.inclusion_tag("automation/_away_toggle.html", takes_context=True)
def away_toggle(context):
    """The agent's "I am away" switch: away agents get no automatically assigned tickets."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_agent:
        return {"show": False}
    return {
        "show": True,
        "away": selectors.is_away(user),
        "next": request.get_full_path(),
    }
