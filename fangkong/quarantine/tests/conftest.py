"""The quarantine tests read messages in English: service errors under `translation.override("en")`, pages
through the language cookie (the interface itself is zh-Hans first; its translations are checked elsewhere)."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def english(client) -> Iterator[None]:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
