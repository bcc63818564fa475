from django.urls import include, path

from tokui.messaging import views

app_name = "messaging"
urlpatterns = [
    path("c/<str:token>", views.mail_click, name="click"),
    path("o/<str:token>.gif", views.mail_open, name="open"),
    path("u/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("p/<str:token>", views.preferences, name="preferences"),
    # ESP tracking webhooks (bounces, complaints) through django-anymail: /m/esp/<esp>/tracking/
    path("esp/", include("anymail.urls")),
]
