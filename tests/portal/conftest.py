import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def upload():
    def make(name="screenshot.png", content=b"\x89PNG fake image", content_type="image/png"):
        return SimpleUploadedFile(name, content, content_type=content_type)

    return make


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user
