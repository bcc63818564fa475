from django.urls import path

from tokui.segments import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_builder, name="new"),
    path("import/", views.static_import, name="import"),
    path("preview/", views.segment_preview, name="preview"),
    path("search/products/", views.product_search, name="product_search"),
    path("search/categories/", views.category_search, name="category_search"),
    path("<int:segment_id>/", views.segment_detail, name="detail"),
    path("<int:segment_id>/edit/", views.segment_builder, name="edit"),
    path("<int:segment_id>/refresh/", views.segment_refresh, name="refresh"),
    path("<int:segment_id>/snapshot/", views.segment_snapshot, name="snapshot"),
    path("<int:segment_id>/archive/", views.segment_archive, name="archive"),
]
