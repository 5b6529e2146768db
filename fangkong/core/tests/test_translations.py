from pathlib import Path

import polib
from django.conf import settings


def test_every_interface_string_has_a_chinese_translation():
    po = polib.pofile(str(Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()] + [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, untranslated
    assert not po.metadata_is_fuzzy
