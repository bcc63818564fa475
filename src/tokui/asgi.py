import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django_application = get_asgi_application()

# The hot paths are served in front of Django: the tag's ingest endpoint (ADR 0009) and mail opens and clicks
# (ADR 0011); every other request goes to Django.
from tokui.messaging.hit_server import MailHitFront  # noqa: E402  (needs the apps loaded above)
from tokui.tracking.tag_server import TagIngestFront  # noqa: E402

application = MailHitFront(TagIngestFront(django_application))
