import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django_application = get_asgi_application()

# The tag's ingest endpoint is served in front of Django (ADR 0009); every other request goes to Django.
from tokui.tracking.tag_server import TagIngestFront  # noqa: E402  (needs the apps loaded above)

application = TagIngestFront(django_application)
