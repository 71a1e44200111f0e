from django import template
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

GROUP_LINK = (
    '\n    \n    <a href="{link}" {current}>{name} <small class="muted">L{tier}</small>'
    ' <span class="count">{count}</span></a>\n    \n  '
)


@register.filter
def count_of(counts: dict, key) -> int:
    """`counts[key]` in a template, for keys that are variables."""
    return counts.get(key, 0)


@register.simple_tag
def group_links(groups, counts: dict, current: str) -> SafeString:
    """The sidebar's link to each group queue with its count: what a template loop wrote,
    without its dozen nodes per group on every page."""
    links = []
    for group in groups:
        key = f"group-{group.slug}"
        links.append(
            GROUP_LINK.format(
                link=conditional_escape(reverse("desk:queue", args=[key])),
                current='aria-current="page"' if current == key else "",
                name=conditional_escape(group.name),
                tier=conditional_escape(group.tier),
                count=conditional_escape(count_of(counts, key)),
            )
        )
    return mark_safe("".join(links))
