from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.roles import Capability
from fangkong.notify.selectors import messages_for


@requires(Capability.MESSAGES_VIEW)
def message_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(messages_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notify/message_list.html", {"page": page})
