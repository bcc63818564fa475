from django.urls import URLPattern, URLResolver, path

from tokui.integrations.views import connections, imports

app_name = "integrations"
urlpatterns: list[URLPattern | URLResolver] = [
    path("imports/", imports.import_list, name="import_list"),
    path("imports/upload/", imports.import_upload, name="import_upload"),
    path("imports/<int:job_id>/", imports.import_detail, name="import_detail"),
    path("imports/<int:job_id>/mapping/", imports.import_mapping, name="import_mapping"),
    path("imports/<int:job_id>/progress/", imports.import_progress, name="import_progress"),
    path("imports/<int:job_id>/run/", imports.import_run, name="import_run"),
    path("imports/<int:job_id>/cancel/", imports.import_cancel, name="import_cancel"),
    path("imports/<int:job_id>/errors.csv", imports.import_errors, name="import_errors"),
    path("connections/", connections.connection_list, name="connection_list"),
    path("connections/new/<str:kind>/", connections.connection_new, name="connection_new"),
    path("connections/<int:connection_id>/", connections.connection_detail, name="connection_detail"),
    path("connections/<int:connection_id>/edit/", connections.connection_edit, name="connection_edit"),
    path("connections/<int:connection_id>/delete/", connections.connection_remove, name="connection_delete"),
    path("connections/<int:connection_id>/test/", connections.connection_check, name="connection_test"),
    path("connections/<int:connection_id>/sync/", connections.connection_sync, name="connection_sync"),
    path("connections/<int:connection_id>/runs/", connections.connection_runs, name="connection_runs"),
]
