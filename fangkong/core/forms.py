from django import forms
from django.utils.translation import gettext_lazy as _


class DivisionUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Division CSV (columns code, name; optional lon, lat, population; UTF-8 or GBK)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
