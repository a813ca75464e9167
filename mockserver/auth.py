"""Authorization header → the caller's key and workspace, in Dub's order: secret API keys
(BEHAVIOR §1) for the server routes, publishable keys (§6) for the browser's client routes."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadRequest, Forbidden, NotFound, Unauthorized
from .models import Record
from .store import Store

ALLOWED_ROLES = ("owner", "member")
PUBLISHABLE_PREFIX = "dub_pk_"
NEED_HIGHER_PLAN = "Unauthorized: Need higher plan."
BUSINESS_PLANS = frozenset(
    {"business", "business plus", "business max", "business extra", "advanced", "enterprise"}
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's record (a token or a publishable key) and its workspace's."""

    token: Record
    workspace: Record

    @property
    def workspace_id(self) -> str:
        return str(self.workspace["id"])


def authenticate(authorization: str | None, workspace_query: str | None, store: Store) -> Principal:
    """Rules 1-5: header shape, presence, personal keys, unknown and expired tokens."""
    if authorization is None:
        raise Unauthorized("Missing Authorization header.")
    if not authorization.startswith("Bearer "):
        raise BadRequest(
            "Misconfigured authorization header. Did you forget to add 'Bearer '? "
            "Learn more: https://d.to/auth"
        )
    token = authorization[len("Bearer ") :]  # exactly what follows, untrimmed, as in Dub
    if not token.startswith("dub_") and not workspace_query:
        raise NotFound(
            "Workspace ID not found. Did you forget to include a `workspaceId` query parameter? "
            "It looks like you might be using personal API keys, we also recommend refactoring "
            "to workspace API keys: https://d.to/keys"
        )
    found = store.principal(token)
    if found is None:
        raise Unauthorized("Unauthorized: Invalid API key.")
    token_record, workspace = found
    if token_record.get("expired"):
        raise Unauthorized("Unauthorized: Access token expired.")
    return Principal(token_record, workspace)


def authorize(principal: Principal) -> None:
    """Rules 7-8: the role may write, and the plan includes conversion tracking."""
    if principal.token.get("role", "owner") not in ALLOWED_ROLES:
        raise Forbidden(
            "You don't have the required role to access this endpoint. "
            "Required role(s): owner, member."
        )
    check_plan(principal)


def check_plan(principal: Principal) -> None:
    if principal.workspace.get("plan") not in BUSINESS_PLANS:
        raise Forbidden(NEED_HIGHER_PLAN)


def publishable_key(authorization: str | None) -> str:
    """§6's first checks: a header, then `Bearer dub_pk_...` exactly."""
    if authorization is None:
        raise Unauthorized("Missing publishable key.")
    key = authorization[len("Bearer ") :]
    if not authorization.startswith("Bearer ") or not key.startswith(PUBLISHABLE_PREFIX):
        raise BadRequest("Invalid or missing publishable key.")
    return key


def authenticate_publishable(key: str, store: Store) -> Principal:
    """§6 after the rate limit: the key must exist."""
    found = store.publishable_principal(key)
    if found is None:
        raise Unauthorized("Invalid publishable key.")
    return Principal(*found)
