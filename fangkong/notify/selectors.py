from __future__ import annotations

from django.db.models import QuerySet

from fangkong.core.models import User
from fangkong.core.scope import scoped
from fangkong.notify.models import Message


def messages_for(user: User) -> QuerySet[Message]:
    return scoped(Message.objects.all(), user)
