from django.contrib.auth import views as auth_views
from django.urls import path

from tokui.web.views import companies, contacts, dashboard, outbox, system

app_name = "web"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("healthz", system.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("companies/", companies.company_list, name="company_list"),
    path("companies/<int:company_id>/", companies.company_detail, name="company_detail"),
    path("companies/<int:company_id>/timeline/", companies.company_timeline, name="company_timeline"),
    path("companies/<int:company_id>/orders/", companies.company_orders, name="company_orders"),
    path("customers/", contacts.contact_list, name="contact_list"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/timeline/", contacts.contact_timeline, name="contact_timeline"),
    path("contacts/<int:contact_id>/orders/", contacts.contact_orders, name="contact_orders"),
    path("outbox/", outbox.outbox, name="outbox"),
    path("outbox/<int:mail_id>/", outbox.outbox_detail, name="outbox_detail"),
    path("soon/<slug:key>/", system.coming_soon, name="coming_soon"),
]
