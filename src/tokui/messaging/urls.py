from django.urls import path

from tokui.messaging import views

app_name = "messaging"
urlpatterns = [
    path("c/<str:token>", views.mail_click, name="click"),
    path("o/<str:token>.gif", views.mail_open, name="open"),
]
