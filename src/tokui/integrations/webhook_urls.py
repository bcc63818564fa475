from django.urls import URLPattern, URLResolver, path

from tokui.integrations.views import webhooks

app_name = "webhooks"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:kind>/<str:token>/", webhooks.webhook_receive, name="receive"),
]
