from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.static import serve

from tokui.api.urls import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("t/", include("tokui.tracking.urls")),
    path("m/", include("tokui.messaging.urls")),
    path("mail/", include("tokui.messaging.ui_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("settings/", include("tokui.accounts.urls")),
    path("data/tag/", include("tokui.tracking.site_urls")),
    path("data/", include("tokui.integrations.urls")),
    path("analysis/", include("tokui.analytics.urls")),
    path("segments/", include("tokui.segments.urls")),
    path("hooks/", include("tokui.integrations.webhook_urls")),
    path("", include("tokui.demo.urls")),
    path("", include("tokui.web.urls")),
]

if settings.SERVE_MEDIA:
    # Embedded mode serves uploaded images itself; behind a proxy, let the proxy serve MEDIA_ROOT instead.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
