"""Who may do what: a role ladder plus ownership of pages."""

from __future__ import annotations

import enum

from webbly.errors import PermissionDenied
from webbly.models import Page, Role, User

_RANK = {Role.VIEWER: 0, Role.AUTHOR: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class Permission(str, enum.Enum):
    """Operations guarded by a role check."""

    VIEW_DRAFTS = "view_drafts"
    CREATE_PAGE = "create_page"
    EDIT_PAGE = "edit_page"
    PUBLISH_PAGE = "publish_page"
    DELETE_PAGE = "delete_page"
    UPLOAD_MEDIA = "upload_media"
    DELETE_MEDIA = "delete_media"
    MANAGE_USERS = "manage_users"


_MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.VIEW_DRAFTS: Role.AUTHOR,
    Permission.CREATE_PAGE: Role.AUTHOR,
    Permission.EDIT_PAGE: Role.AUTHOR,
    Permission.PUBLISH_PAGE: Role.EDITOR,
    Permission.DELETE_PAGE: Role.EDITOR,
    Permission.UPLOAD_MEDIA: Role.AUTHOR,
    Permission.DELETE_MEDIA: Role.EDITOR,
    Permission.MANAGE_USERS: Role.ADMIN,
}


def role_at_least(role: Role, minimum: Role) -> bool:
    """Whether ``role`` is ``minimum`` or above on the ladder."""
    return _RANK[role] >= _RANK[minimum]


def can(user: User | None, permission: Permission, page: Page | None = None) -> bool:
    """Whether ``user`` may perform ``permission`` (on ``page`` when given).

    Anonymous and inactive users may do nothing. Authors may edit only their
    own pages; editors and admins may edit any page.
    """
    if user is None or not user.active:
        return False
    if not role_at_least(user.role, _MINIMUM_ROLE[permission]):
        return False
    if permission is Permission.EDIT_PAGE and page is not None and user.role is Role.AUTHOR:
        return page.author_id == user.id
    return True


def require(user: User | None, permission: Permission, page: Page | None = None) -> User:
    """Return ``user`` if allowed, else raise :class:`PermissionDenied`."""
    if user is None:
        raise PermissionDenied("sign in first")
    if not can(user, permission, page):
        raise PermissionDenied(f"{user.username} ({user.role.value}) may not {permission.value}")
    return user
