from django.urls import URLPattern, URLResolver, path

from tokui.integrations import views

app_name = "integrations"
urlpatterns: list[URLPattern | URLResolver] = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/upload/", views.import_upload, name="import_upload"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/run/", views.import_run, name="import_run"),
    path("imports/<int:job_id>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<int:job_id>/errors.csv", views.import_errors, name="import_errors"),
]
