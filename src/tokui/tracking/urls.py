from django.urls import path

from tokui.tracking import views

app_name = "tracking"
urlpatterns = [
    path("v1/batch", views.batch, name="batch"),
]
