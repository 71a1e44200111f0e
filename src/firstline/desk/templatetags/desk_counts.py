from django import template

register = template.Library()


@register.filter
def count_of(counts: dict, key) -> int:
    """`counts[key]` in a template, for keys that are variables."""
    return counts.get(key, 0)
