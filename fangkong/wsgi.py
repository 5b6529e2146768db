import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
application = get_wsgi_application()

# Import the URLconf — every view and the API's schemas — now, not on the first request. Under gunicorn
# --preload the master does it once and every worker is forked warm: a restarted server answers at full speed
# at once instead of queueing the first scans behind each worker's ~0.8 s of imports.
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect
