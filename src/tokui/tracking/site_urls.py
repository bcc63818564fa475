from django.urls import path

from tokui.tracking import site_views

app_name = "tag_sites"
urlpatterns = [
    path("", site_views.site_list, name="list"),
    path("new/", site_views.site_new, name="new"),
    path("<int:site_id>/", site_views.site_detail, name="detail"),
    path("<int:site_id>/edit/", site_views.site_edit, name="edit"),
    path("<int:site_id>/rotate-key/", site_views.site_rotate_key, name="rotate_key"),
]
