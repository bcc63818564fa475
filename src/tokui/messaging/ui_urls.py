"""The mail screens, mounted at /mail/ (the recipients' links live at /m/, see ``messaging.urls``)."""

from django.urls import path

from tokui.messaging import ui_views

app_name = "mail"
urlpatterns = [
    path("", ui_views.template_list, name="templates"),
    path("new/", ui_views.template_create, name="template_create"),
    path("<int:template_id>/", ui_views.template_edit, name="template_edit"),
    path("<int:template_id>/settings/", ui_views.template_settings, name="template_settings"),
    path("<int:template_id>/versions/<int:version_id>/restore/", ui_views.version_restore, name="version_restore"),
    path("<int:template_id>/preview/", ui_views.template_preview_page, name="template_preview"),
    path("<int:template_id>/preview/frame/", ui_views.preview_frame, name="preview_frame"),
    path("<int:template_id>/test-send/", ui_views.template_test_send, name="template_test_send"),
    path("<int:template_id>/send/", ui_views.template_send, name="template_send"),
    path("<int:template_id>/send-segment/", ui_views.template_send_segment, name="template_send_segment"),
    path("sends/", ui_views.send_progress, name="send_progress"),
    path("images/", ui_views.image_upload, name="image_upload"),
    path("preview-contacts/", ui_views.preview_contacts, name="preview_contacts"),
    path("outbox/", ui_views.outbox, name="outbox"),
    path("outbox/<int:message_id>/", ui_views.outbox_detail, name="outbox_detail"),
    path("senders/", ui_views.senders, name="senders"),
]
