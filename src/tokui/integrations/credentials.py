"""Connector credentials at rest: encrypted with a key derived from the installation's secret key.

Unlike API keys (which Tokui only checks, so it keeps a hash), a connector's access token must be sent to the other
system, so it is kept encrypted (Fernet: AES-128-CBC + HMAC-SHA256) and decrypted only when a sync runs. Changing
``TOKUI_SECRET_KEY`` makes stored credentials unreadable: the connection screen then asks for them again.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"tokui connector credentials v1"


class CredentialsUnreadableError(Exception):
    """The stored credentials were encrypted with another secret key (or were altered)."""


def _fernet() -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def credentials_encrypt(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def credentials_decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        values = json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError) as error:
        raise CredentialsUnreadableError(str(error)) from error
    return {str(key): str(value) for key, value in values.items()}
