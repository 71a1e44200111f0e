"""Factories for tests; each makes a valid object with the fewest choices."""

import factory

from firstline.accounts.models import Group, Organization, Role, User
from firstline.tickets.models import Category, Channel, Ticket


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.REQUESTER
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class RequesterFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory)


class AgentFactory(UserFactory):
    role = Role.AGENT


class SupervisorFactory(UserFactory):
    role = Role.SUPERVISOR


class AdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"group-{n}")
    name = factory.LazyAttribute(lambda g: g.slug.title())
    tier = 1

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.set(extracted)

    @factory.post_generation
    def organizations(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.organizations.set(extracted)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    full_name = factory.LazyAttribute(lambda c: c.name)


class TicketFactory(factory.django.DjangoModelFactory):
    """A bare ticket row; tests of behaviour create tickets through the services instead."""

    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Problem {n}")
    description = "Something is broken."
    requester = factory.SubFactory(RequesterFactory)
    organization = factory.LazyAttribute(lambda t: t.requester.organization)
    channel = Channel.WEB


class ArticleFactory(factory.django.DjangoModelFactory):
    """A bare knowledge-base article row (not indexed for search); tests of behaviour write
    articles through firstline.kb.services instead."""

    class Meta:
        model = "kb.Article"

    title = factory.Sequence(lambda n: f"Article {n}")
    body = "Some helpful text."
    body_html = "<p>Some helpful text.</p>"
    status = "published"
    visibility = "public"
