from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.screening.imports.fields import FIELDS
from fangkong.screening.imports.services import LIST_SOURCES
from fangkong.screening.models import Reason, Source

ACCEPT = ".xlsx,.xls,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ListUploadForm(forms.Form):
    source = forms.ChoiceField(label=_("Comes from"), choices=[(s, Source(s).label) for s in LIST_SOURCES])
    layout_name = forms.CharField(
        label=_("Layout name (remembered, e.g. 市公安局推送)"),
        max_length=100,
        widget=forms.TextInput(attrs={"list": "layouts"}),
    )
    file = forms.FileField(
        label=_("List (.xlsx, .xls or .csv in UTF-8 or GBK)"), widget=forms.ClearableFileInput(attrs={"accept": ACCEPT})
    )


class MappingForm(forms.Form):
    layout_name = forms.CharField(label=_("Layout name"), max_length=100)
    reason = forms.ChoiceField(label=_("Risk reason"), choices=Reason.choices, initial=Reason.ARRIVAL)

    def __init__(self, *args: Any, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in this file —")), *[(h, h) for h in headers]]
        for field in FIELDS:
            self.fields[f"map_{field.name}"] = forms.ChoiceField(
                label=str(field.label), choices=choices, required=False
            )

    def mapping(self) -> dict[str, str]:
        return {
            f.name: self.cleaned_data.get(f"map_{f.name}", "") for f in FIELDS if self.cleaned_data.get(f"map_{f.name}")
        }
