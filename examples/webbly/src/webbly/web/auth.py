"""Who is asking: HTTP Basic authentication against Webbly's users."""

from __future__ import annotations

from webbly.models import User
from webbly.permissions import Permission, can
from webbly.user_service import UserService
from webbly.web.request import Request
from webbly.web.response import HTTPError

REALM = "Webbly"


def challenge(message: str = "sign in required") -> HTTPError:
    """A 401 error asking the client for Basic credentials."""
    return HTTPError(401, message, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})


def identify(request: Request, users: UserService) -> User | None:
    """The user named by the request's credentials, None without credentials.

    Wrong credentials are an error (401) rather than a silent anonymous request.
    """
    credentials = request.basic_auth()
    if credentials is None:
        return None
    user = users.authenticate(*credentials)
    if user is None:
        raise challenge("wrong username or password")
    return user


def require_user(request: Request, permission: Permission | None = None) -> User:
    """The signed-in user, who must hold ``permission`` when given; else 401 or 403."""
    user = request.user
    if user is None:
        raise challenge()
    if permission is not None and not can(user, permission):
        raise HTTPError(403, f"{user.role.value}s may not {permission.value.replace('_', ' ')}")
    return user
