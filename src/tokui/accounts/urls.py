from django.urls import URLPattern, URLResolver, path

from tokui.accounts import views

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("api-keys/", views.api_keys_list, name="api_keys"),
    path("api-keys/new/", views.api_key_new, name="api_key_new"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_confirm, name="api_key_revoke"),
    path("api-keys/requests/", views.api_requests_list, name="api_requests"),
]
