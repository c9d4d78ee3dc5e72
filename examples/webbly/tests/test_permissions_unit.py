"""The role ladder and page ownership."""

from __future__ import annotations

import pytest

from webbly.errors import PermissionDenied
from webbly.models import Page, PublishState, Role, User
from webbly.permissions import Permission, can, require, role_at_least


def make_user(role: Role, user_id: int = 1, active: bool = True) -> User:
    return User(user_id, role.value, f"{role.value}@example.org", role, "x", active,
                "2024-01-01T00:00:00Z")


def make_page(author_id: int) -> Page:
    return Page(7, "p", "P", "body", PublishState.DRAFT, author_id, 1, (),
                "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", None)


EXPECTED = {
    Role.VIEWER: set(),
    Role.AUTHOR: {Permission.VIEW_DRAFTS, Permission.CREATE_PAGE, Permission.EDIT_PAGE,
                  Permission.UPLOAD_MEDIA},
    Role.EDITOR: {Permission.VIEW_DRAFTS, Permission.CREATE_PAGE, Permission.EDIT_PAGE,
                  Permission.UPLOAD_MEDIA, Permission.PUBLISH_PAGE, Permission.DELETE_PAGE,
                  Permission.DELETE_MEDIA},
    Role.ADMIN: set(Permission),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_permission_matrix(role: Role, permission: Permission) -> None:
    assert can(make_user(role), permission) is (permission in EXPECTED[role])


@pytest.mark.parametrize("permission", list(Permission))
def test_anonymous_may_do_nothing(permission: Permission) -> None:
    assert can(None, permission) is False


def test_inactive_admin_may_do_nothing() -> None:
    admin = make_user(Role.ADMIN, active=False)
    assert not any(can(admin, permission) for permission in Permission)


def test_authors_edit_only_their_own_pages() -> None:
    author = make_user(Role.AUTHOR, user_id=5)
    assert can(author, Permission.EDIT_PAGE, make_page(author_id=5))
    assert not can(author, Permission.EDIT_PAGE, make_page(author_id=6))


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_editors_and_admins_edit_any_page(role: Role) -> None:
    assert can(make_user(role, user_id=1), Permission.EDIT_PAGE, make_page(author_id=99))


def test_role_ladder_is_ordered() -> None:
    ladder = [Role.VIEWER, Role.AUTHOR, Role.EDITOR, Role.ADMIN]
    for low_index, low in enumerate(ladder):
        for high in ladder[low_index:]:
            assert role_at_least(high, low)
        for lower in ladder[:low_index]:
            assert not role_at_least(lower, low)


def test_require_returns_the_user() -> None:
    editor = make_user(Role.EDITOR)
    assert require(editor, Permission.PUBLISH_PAGE) is editor


def test_require_rejects_anonymous_with_sign_in_message() -> None:
    with pytest.raises(PermissionDenied, match="sign in"):
        require(None, Permission.CREATE_PAGE)


def test_require_names_role_and_permission() -> None:
    with pytest.raises(PermissionDenied, match=r"author \(author\) may not publish_page"):
        require(make_user(Role.AUTHOR), Permission.PUBLISH_PAGE)
