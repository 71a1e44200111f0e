import pytest

from firstline.kb import services
from firstline.kb.models import ArticleStatus, Visibility


@pytest.fixture
def article(desk):
    """Writes an article through the services, published by the supervisor unless told."""

    def make(
        title="How to reset your password",
        body="Open the self-service page and choose **Forgot password**.",
        status=ArticleStatus.PUBLISHED,
        visibility=Visibility.PUBLIC,
        **fields,
    ):
        return services.create_article(
            actor=desk.supervisor,
            title=title,
            body=body,
            status=status,
            visibility=visibility,
            **fields,
        )

    return make


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user
