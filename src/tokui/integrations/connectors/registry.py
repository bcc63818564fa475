"""The connectors Tokui knows, one entry each: the fields a user fills in, how to build the client, how to test the
connection, how to sync and how to take a webhook. The connection services and screens only talk to this registry,
so adding a cart system is adding an entry here, not another branch in every function."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.integrations.connectors.bcart import webhooks as bcart_webhooks
from tokui.integrations.connectors.bcart.client import API_BASE as BCART_API_BASE
from tokui.integrations.connectors.bcart.client import BcartClient, BcartError
from tokui.integrations.connectors.bcart.sync import InvalidWebhookError, bcart_receive_webhook, bcart_sync
from tokui.integrations.connectors.bcart.webhooks import EventLedger
from tokui.integrations.connectors.eccube.client import EccubeClient, EccubeError
from tokui.integrations.connectors.eccube.sync import eccube_sync
from tokui.integrations.connectors.reports import SyncReport
from tokui.integrations.connectors.shopify import webhooks as shopify_webhooks
from tokui.integrations.connectors.shopify.client import DEFAULT_API_VERSION, ShopifyClient, ShopifyError
from tokui.integrations.connectors.shopify.sync import shopify_apply_webhook, shopify_sync
from tokui.integrations.enums import ConnectorKind

# Shopify's updated_at_min has no overlap of its own: pull a little before the last cursor so nothing changed while
# the previous run was paging is missed (re-applying an unchanged record is a no-op).
SHOPIFY_OVERLAP = dt.timedelta(minutes=10)
# What the other side (or the network) may answer that means "this connection does not work", not "Tokui is broken".
REMOTE_ERRORS: tuple[type[Exception], ...] = (
    ShopifyError,
    BcartError,
    EccubeError,
    urllib.error.URLError,
    TimeoutError,
    ConnectionError,
    json.JSONDecodeError,
)


class WebhookRejectedError(Exception):
    """A delivery Tokui refuses: ``status`` is the HTTP answer (401 signature, 400 unreadable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ConnectorField:
    name: str
    label: Promise
    secret: bool = False
    required: bool = True
    help_text: Promise | str = ""
    placeholder: str = ""


@dataclass
class ConnectionAccess:
    """What a connector needs from a stored connection, decrypted: built by the service for one run."""

    source: str
    config: Mapping[str, str]
    secrets: Mapping[str, str]
    # Called when the other side rotates a credential (EC-CUBE's refresh token), so it is stored at once.
    secrets_changed: Callable[[dict[str, str]], None] = field(default=lambda _values: None)


@dataclass(frozen=True)
class Connector:
    kind: ConnectorKind
    fields: tuple[ConnectorField, ...]
    test: Callable[[ConnectionAccess], str]
    sync: Callable[[ConnectionAccess, dt.datetime | None], SyncReport]
    # None: the system has no webhooks Tokui takes (EC-CUBE is polled).
    receive_webhook: Callable[[ConnectionAccess, bytes, Mapping[str, str], EventLedger], SyncReport] | None = None
    webhook_help: Promise | str = ""

    @property
    def secret_fields(self) -> tuple[ConnectorField, ...]:
        return tuple(item for item in self.fields if item.secret)

    @property
    def config_fields(self) -> tuple[ConnectorField, ...]:
        return tuple(item for item in self.fields if not item.secret)


BASE_URL_FIELD = ConnectorField(
    "base_url",
    gettext_lazy("API address"),
    required=False,
    help_text=gettext_lazy("Leave empty. Only set it to reach a test server or a proxy."),
)


# --- Shopify ---------------------------------------------------------------------------------------------------


def _shopify_client(access: ConnectionAccess) -> ShopifyClient:
    return ShopifyClient(
        shop_domain=access.config["shop_domain"],
        access_token=access.secrets["access_token"],
        api_version=access.config.get("api_version") or DEFAULT_API_VERSION,
        base_url=access.config.get("base_url", ""),
    )


def _shopify_test(access: ConnectionAccess) -> str:
    shop = _shopify_client(access).shop()
    return _("Connected to the shop %(name)s.") % {"name": shop.get("name") or access.config["shop_domain"]}


def _shopify_sync(access: ConnectionAccess, since: dt.datetime | None) -> SyncReport:
    return shopify_sync(
        client=_shopify_client(access),
        source=access.source,
        updated_since=since - SHOPIFY_OVERLAP if since is not None else None,
    )


def _shopify_webhook(
    access: ConnectionAccess, body: bytes, headers: Mapping[str, str], ledger: EventLedger
) -> SyncReport:
    secret = access.secrets.get("webhook_secret", "")
    if not shopify_webhooks.webhook_is_authentic(
        secret=secret, body=body, signature=headers.get("X-Shopify-Hmac-Sha256")
    ):
        raise WebhookRejectedError(401, _("The X-Shopify-Hmac-Sha256 signature does not match this connection."))
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookRejectedError(400, _("The webhook body is not JSON.")) from error
    if not isinstance(payload, dict):
        raise WebhookRejectedError(400, _("The webhook body is not a JSON object."))
    delivery_id = headers.get("X-Shopify-Webhook-Id") or headers.get("X-Shopify-Event-Id") or ""
    if delivery_id and not ledger.claim(delivery_id):
        report = SyncReport()
        report.counts["duplicate"] += 1
        return report
    report = shopify_apply_webhook(
        source=access.source,
        shop_domain=access.config["shop_domain"],
        topic=headers.get("X-Shopify-Topic", ""),
        payload=payload,
    )
    if report.error_count and delivery_id:
        ledger.release(delivery_id)  # Shopify retries a failed delivery; let the retry apply it
    return report


# --- B-Cart ----------------------------------------------------------------------------------------------------


def _bcart_client(access: ConnectionAccess) -> BcartClient:
    return BcartClient(
        access_token=access.secrets["access_token"], base_url=access.config.get("base_url") or BCART_API_BASE
    )


def _bcart_test(access: ConnectionAccess) -> str:
    _bcart_client(access).test_connection()
    return _("Connected to B-Cart: the token can read members and orders.")


def _bcart_sync(access: ConnectionAccess, since: dt.datetime | None) -> SyncReport:
    return bcart_sync(
        client=_bcart_client(access),
        source=access.source,
        updated_since=since,
        shop_url=access.config.get("shop_url", ""),
    )


def _bcart_webhook(
    access: ConnectionAccess, body: bytes, headers: Mapping[str, str], ledger: EventLedger
) -> SyncReport:
    secret = access.secrets.get("webhook_secret", "")
    signature = headers.get(bcart_webhooks.SIGNATURE_HEADER)
    if not bcart_webhooks.webhook_is_authentic(secret=secret, body=body, header=signature):
        raise WebhookRejectedError(401, _("The Bcart-Signature does not match this connection's webhook secret."))
    try:
        return bcart_receive_webhook(source=access.source, secret=secret, body=body, signature=signature, seen=ledger)
    except InvalidWebhookError as error:
        raise WebhookRejectedError(400, _("The webhook body is not a JSON object.")) from error


# --- EC-CUBE ---------------------------------------------------------------------------------------------------


def _eccube_client(access: ConnectionAccess) -> EccubeClient:
    def keep_tokens(access_token: str, refresh_token: str) -> None:
        access.secrets_changed({"access_token": access_token, "refresh_token": refresh_token})

    return EccubeClient(
        shop_url=access.config["shop_url"].rstrip("/"),
        access_token=access.secrets["access_token"],
        refresh_token=access.secrets.get("refresh_token", ""),
        client_id=access.config.get("client_id", ""),
        client_secret=access.secrets.get("client_secret", ""),
        mailmaga_field=access.config.get("mailmaga_field", ""),
        on_tokens=keep_tokens,
    )


def _eccube_test(access: ConnectionAccess) -> str:
    counts = _eccube_client(access).test_connection()
    return _("Connected to EC-CUBE: %(customers)s members and %(orders)s orders.") % {
        "customers": counts["customers"],
        "orders": counts["orders"],
    }


def _eccube_sync(access: ConnectionAccess, since: dt.datetime | None) -> SyncReport:
    return eccube_sync(client=_eccube_client(access), source=access.source, updated_since=since)


CONNECTORS: dict[str, Connector] = {
    ConnectorKind.SHOPIFY: Connector(
        kind=ConnectorKind.SHOPIFY,
        fields=(
            ConnectorField(
                "shop_domain",
                gettext_lazy("Shop domain"),
                help_text=gettext_lazy("The shop's myshopify.com address."),
                placeholder="example.myshopify.com",
            ),
            ConnectorField(
                "access_token",
                gettext_lazy("Admin API access token"),
                secret=True,
                help_text=gettext_lazy(
                    "From the custom app made for Tokui in the Shopify admin (read access to customers, orders, "
                    "products and checkouts)."
                ),
            ),
            ConnectorField(
                "webhook_secret",
                gettext_lazy("Webhook signing secret"),
                secret=True,
                required=False,
                help_text=gettext_lazy("The app's API secret key; webhooks are refused without it."),
            ),
            ConnectorField("api_version", gettext_lazy("API version"), required=False, placeholder=DEFAULT_API_VERSION),
            BASE_URL_FIELD,
        ),
        test=_shopify_test,
        sync=_shopify_sync,
        receive_webhook=_shopify_webhook,
        webhook_help=gettext_lazy(
            "In the Shopify admin, add webhooks (JSON) for customers, orders, checkouts and products pointing at "
            "this address."
        ),
    ),
    ConnectorKind.BCART: Connector(
        kind=ConnectorKind.BCART,
        fields=(
            ConnectorField(
                "access_token",
                gettext_lazy("API access token"),
                secret=True,
                help_text=gettext_lazy("Made in the B-Cart admin under API settings."),
            ),
            ConnectorField(
                "webhook_secret",
                gettext_lazy("Webhook secret"),
                secret=True,
                required=False,
                help_text=gettext_lazy("The Secret set on the webhook in B-Cart; webhooks are refused without it."),
            ),
            ConnectorField(
                "shop_url",
                gettext_lazy("Shop address"),
                required=False,
                help_text=gettext_lazy("Used to link products to their page in the shop."),
                placeholder="https://example.bcart.jp",
            ),
            BASE_URL_FIELD,
        ),
        test=_bcart_test,
        sync=_bcart_sync,
        receive_webhook=_bcart_webhook,
        webhook_help=gettext_lazy(
            "In the B-Cart admin, add an order webhook pointing at this address with the same secret. Webhooks are "
            "not guaranteed, so the scheduled sync also fetches every order changed since the last run."
        ),
    ),
    ConnectorKind.ECCUBE: Connector(
        kind=ConnectorKind.ECCUBE,
        fields=(
            ConnectorField(
                "shop_url",
                gettext_lazy("Shop address"),
                help_text=gettext_lazy("The shop's top page; the Web API plugin answers under /api."),
                placeholder="https://shop.example.jp",
            ),
            ConnectorField("client_id", gettext_lazy("OAuth client ID"), required=False),
            ConnectorField("client_secret", gettext_lazy("OAuth client secret"), secret=True, required=False),
            ConnectorField("access_token", gettext_lazy("Access token"), secret=True),
            ConnectorField(
                "refresh_token",
                gettext_lazy("Refresh token"),
                secret=True,
                required=False,
                help_text=gettext_lazy("With it (and the client ID and secret) Tokui renews the access token itself."),
            ),
            ConnectorField(
                "mailmaga_field",
                gettext_lazy("Mail magazine field"),
                required=False,
                help_text=gettext_lazy("mailmaga_flg when the MailMagazine plugin exposes it to the API."),
            ),
        ),
        test=_eccube_test,
        sync=_eccube_sync,
    ),
}


def connector_for(kind: str) -> Connector:
    return CONNECTORS[kind]
