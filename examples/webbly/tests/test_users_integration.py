"""User accounts stored in SQLite."""

from __future__ import annotations

import pytest

from webbly.cms import CMS
from webbly.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from webbly.models import Role, User
from webbly.passwords import hash_password
from webbly.seed import seed_users

PASSWORD = "webbly-demo-password"


def test_create_and_authenticate(cms: CMS) -> None:
    user = cms.users.create_user("Alice", "alice@example.org", "s3cret-pass", Role.EDITOR)
    assert user.username == "alice"
    assert cms.users.authenticate("alice", "s3cret-pass") == user
    assert cms.users.authenticate("ALICE", "s3cret-pass") == user


@pytest.mark.parametrize(("username", "password"),
                         [("alice", "wrong-password"), ("nobody", "s3cret-pass"), ("alice", "")])
def test_failed_authentication(cms: CMS, username: str, password: str) -> None:
    cms.users.create_user("alice", "alice@example.org", "s3cret-pass")
    assert cms.users.authenticate(username, password) is None


def test_duplicate_username(cms: CMS) -> None:
    cms.users.create_user("alice", "a@example.org", "password1")
    with pytest.raises(Conflict, match="exists"):
        cms.users.create_user("Alice", "b@example.org", "password2")


def test_invalid_user(cms: CMS) -> None:
    with pytest.raises(ValidationFailed) as caught:
        cms.users.create_user("x", "bad", "short")
    assert set(caught.value.errors) == {"username", "email", "password"}


def test_password_hash_is_stored_not_the_password(cms: CMS) -> None:
    cms.users.create_user("alice", "a@example.org", "plain-text-pw")
    stored = cms.db.scalar("SELECT password_hash FROM users")
    assert "plain-text-pw" not in stored
    assert stored.startswith("pbkdf2_sha256$1000$")


def test_old_hashes_are_upgraded_on_sign_in(cms: CMS) -> None:
    user = cms.users.create_user("alice", "a@example.org", "long-password")
    cms.users.repo.set_password_hash(user.id, hash_password("long-password", iterations=10))
    signed_in = cms.users.authenticate("alice", "long-password")
    assert signed_in is not None
    assert signed_in.password_hash.startswith("pbkdf2_sha256$1000$")


def test_admin_adds_users(cms: CMS, users: dict[str, User]) -> None:
    created = cms.users.add_user(users["admin"], {"username": "newbie",
                                                  "email": "n@example.org",
                                                  "password": "password!", "role": "viewer"})
    assert created.role is Role.VIEWER
    assert cms.users.count() == 5


@pytest.mark.parametrize("role", ["editor", "author", "viewer"])
def test_non_admins_cannot_add_users(cms: CMS, users: dict[str, User], role: str) -> None:
    with pytest.raises(PermissionDenied):
        cms.users.add_user(users[role], {"username": "sneaky", "email": "s@example.org",
                                         "password": "password!"})


def test_roles_change(cms: CMS, users: dict[str, User]) -> None:
    promoted = cms.users.set_role(users["admin"], "author", Role.EDITOR)
    assert promoted.role is Role.EDITOR
    assert cms.users.get("author").role is Role.EDITOR


def test_admin_cannot_demote_self(cms: CMS, users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied, match="demote"):
        cms.users.set_role(users["admin"], "admin", Role.VIEWER)


def test_deactivated_users_cannot_sign_in(cms: CMS, users: dict[str, User]) -> None:
    cms.users.set_active(users["admin"], "editor", False)
    assert cms.users.authenticate("editor", PASSWORD) is None
    cms.users.set_active(users["admin"], "editor", True)
    assert cms.users.authenticate("editor", PASSWORD) is not None


def test_admin_cannot_disable_self(cms: CMS, users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied, match="disable"):
        cms.users.set_active(users["admin"], "admin", False)


def test_change_password(cms: CMS, users: dict[str, User]) -> None:
    cms.users.change_password(users["author"], PASSWORD, "a-new-password")
    assert cms.users.authenticate("author", PASSWORD) is None
    assert cms.users.authenticate("author", "a-new-password") is not None


@pytest.mark.parametrize(("old", "new", "error"),
                         [("wrong-one", "a-new-password", PermissionDenied),
                          (PASSWORD, "short", ValidationFailed)])
def test_change_password_errors(cms: CMS, users: dict[str, User], old: str, new: str,
                                error: type[Exception]) -> None:
    with pytest.raises(error):
        cms.users.change_password(users["author"], old, new)


def test_lookups(cms: CMS, users: dict[str, User]) -> None:
    assert [u.username for u in cms.users.all_users()] == ["admin", "editor", "author", "viewer"]
    assert cms.users.by_id(users["viewer"].id) == users["viewer"]
    with pytest.raises(NotFound):
        cms.users.get("ghost")
    with pytest.raises(NotFound):
        cms.users.by_id(9999)


def test_seed_users_reuses_existing_accounts(cms: CMS) -> None:
    own = cms.users.create_user("admin", "me@example.org", "my-own-password", Role.ADMIN)
    seeded = seed_users(cms)
    assert seeded["admin"] == own
    assert cms.users.authenticate("admin", "my-own-password") == own
    assert cms.users.authenticate("editor", PASSWORD) == seeded["editor"]
    assert seed_users(cms) == seeded
    assert cms.users.count() == 4
