"""Proxmox VE REST client: pinned TLS, token or ticket auth, typed answers and errors.

Everything the app needs is importable from here; see `client.py` for an example.
"""

from .auth import TicketAuth, TokenAuth
from .client import ProxmoxClient, Timeouts
from .errors import (
    AnswerTooLarge,
    AuthenticationError,
    CertificateInvalid,
    CertificateMismatch,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProxmoxError,
    ProxmoxTimeout,
    RouteMissing,
    TaskFailed,
    TwoFactorRequired,
    Unreachable,
)
from .models import (
    ClusterNode,
    ClusterResource,
    ClusterStatus,
    LoginResult,
    LxcConfig,
    LxcInterface,
    LxcStatus,
    NodeInfo,
    NodeNetwork,
    Permissions,
    Storage,
    StorageContent,
    TaskStatus,
    TermProxy,
    Version,
    parse_property_string,
)
from .tasks import Upid
from .tls import TlsPolicy, fetch_fingerprint, fingerprint_of, normalize_fingerprint

__all__ = [
    "AnswerTooLarge",
    "AuthenticationError",
    "CertificateInvalid",
    "CertificateMismatch",
    "ClusterNode",
    "ClusterResource",
    "ClusterStatus",
    "LoginResult",
    "LxcConfig",
    "LxcInterface",
    "LxcStatus",
    "NodeInfo",
    "NodeNetwork",
    "NotFound",
    "ParameterError",
    "PermissionDenied",
    "Permissions",
    "ProxmoxClient",
    "ProxmoxError",
    "ProxmoxTimeout",
    "RouteMissing",
    "Storage",
    "StorageContent",
    "TaskFailed",
    "TaskStatus",
    "TermProxy",
    "TicketAuth",
    "Timeouts",
    "TlsPolicy",
    "TokenAuth",
    "TwoFactorRequired",
    "Unreachable",
    "Upid",
    "Version",
    "fetch_fingerprint",
    "fingerprint_of",
    "normalize_fingerprint",
    "parse_property_string",
]
