"""Webhook receivers for the connectors: no session and no CSRF token (the other system posts here); each delivery
is authenticated by its signature against the connection's secret, and the unguessable token in the address says
which connection it is for."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tokui.integrations import services
from tokui.integrations.connectors.registry import WebhookRejectedError


@csrf_exempt
@require_POST
def webhook_receive(request: HttpRequest, kind: str, token: str) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"code": "too_large", "message": _("The webhook body is too large.")}, status=413)
    try:
        report = services.connection_receive_webhook(kind=kind, token=token, body=body, headers=request.headers)
    except services.WebhookNotFoundError:
        return JsonResponse({"code": "not_found", "message": _("No connection answers to this address.")}, status=404)
    except WebhookRejectedError as error:
        code = "invalid_signature" if error.status == 401 else "invalid"
        return JsonResponse({"code": code, "message": str(error)}, status=error.status)
    # A record the delivery could not apply is in the sync log; answering 200 stops the sender retrying it forever.
    return JsonResponse({"ok": True, "counts": dict(report.counts)})
