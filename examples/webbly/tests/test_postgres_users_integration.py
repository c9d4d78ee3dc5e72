"""User accounts on PostgreSQL: sign-in, roles, passwords and the table's own constraints."""

from __future__ import annotations

import pytest

from webbly.cms import CMS
from webbly.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from webbly.models import Role, User
from webbly.passwords import hash_password
from webbly.seed import seed_users

pytestmark = pytest.mark.postgres

PASSWORD = "webbly-demo-password"


def test_create_and_authenticate(pg_cms: CMS) -> None:
    """A new account signs in under its name in any case."""
    user = pg_cms.users.create_user("Alice", "alice@example.org", "s3cret-pass", Role.EDITOR)
    assert (user.username, user.role, user.active) == ("alice", Role.EDITOR, True)
    assert pg_cms.users.authenticate("alice", "s3cret-pass") == user
    assert pg_cms.users.authenticate("ALICE", "s3cret-pass") == user


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong-password"), ("nobody", "s3cret-pass"), ("alice", "")],
)
def test_failed_authentication(pg_cms: CMS, username: str, password: str) -> None:
    """A wrong password, an unknown name or an empty password signs nobody in."""
    pg_cms.users.create_user("alice", "alice@example.org", "s3cret-pass")
    assert pg_cms.users.authenticate(username, password) is None


def test_duplicate_username(pg_cms: CMS) -> None:
    """A name taken in another case is a Conflict."""
    pg_cms.users.create_user("alice", "a@example.org", "password1")
    with pytest.raises(Conflict, match="exists"):
        pg_cms.users.create_user("Alice", "b@example.org", "password2")
    assert pg_cms.users.count() == 1


def test_invalid_user(pg_cms: CMS) -> None:
    """Every bad field is reported at once, and nothing is stored."""
    with pytest.raises(ValidationFailed) as caught:
        pg_cms.users.create_user("x", "bad", "short")
    assert set(caught.value.errors) == {"username", "email", "password"}
    assert pg_cms.users.count() == 0


def test_the_table_refuses_duplicate_names(pg_cms: CMS) -> None:
    """Below the service, PostgreSQL's UNIQUE constraint holds too."""
    psycopg = pytest.importorskip("psycopg")
    pg_cms.users.create_user("alice", "a@example.org", "password1")
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_cms.db.execute(
            "INSERT INTO users (username, email, password_hash, role, created_at)"
            " VALUES ('alice', 'b@example.org', 'x', 'author', 'now')"
        )


def test_the_table_refuses_unknown_roles(pg_cms: CMS) -> None:
    """PostgreSQL's CHECK constraint keeps roles to the four Webbly knows."""
    psycopg = pytest.importorskip("psycopg")
    with pytest.raises(psycopg.errors.CheckViolation):
        pg_cms.db.execute(
            "INSERT INTO users (username, email, password_hash, role, created_at)"
            " VALUES ('root', 'r@example.org', 'x', 'superuser', 'now')"
        )
    assert pg_cms.users.count() == 0


def test_password_hash_is_stored_not_the_password(pg_cms: CMS) -> None:
    """The row holds a PBKDF2 hash with the site's iterations, never the password."""
    pg_cms.users.create_user("alice", "a@example.org", "plain-text-pw")
    stored = pg_cms.db.scalar("SELECT password_hash FROM users")
    assert "plain-text-pw" not in stored
    assert stored.startswith("pbkdf2_sha256$1000$")


def test_old_hashes_are_upgraded_on_sign_in(pg_cms: CMS) -> None:
    """A hash made with other iterations is replaced at the next good sign-in."""
    user = pg_cms.users.create_user("alice", "a@example.org", "long-password")
    pg_cms.users.repo.set_password_hash(user.id, hash_password("long-password", iterations=10))
    signed_in = pg_cms.users.authenticate("alice", "long-password")
    assert signed_in is not None
    assert signed_in.password_hash.startswith("pbkdf2_sha256$1000$")


def test_admin_adds_users(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """An admin creates an account with the role asked for."""
    created = pg_cms.users.add_user(
        pg_users["admin"],
        {"username": "newbie", "email": "n@example.org", "password": "password!", "role": "viewer"},
    )
    assert created.role is Role.VIEWER
    assert pg_cms.users.count() == 5


@pytest.mark.parametrize("role", ["editor", "author", "viewer"])
def test_non_admins_cannot_add_users(pg_cms: CMS, pg_users: dict[str, User], role: str) -> None:
    """Only admins manage users."""
    with pytest.raises(PermissionDenied):
        pg_cms.users.add_user(
            pg_users[role], {"username": "sneaky", "email": "s@example.org", "password": "pw!pw!pw"}
        )
    assert pg_cms.users.count() == 4


def test_roles_change(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A promotion is stored and read back."""
    promoted = pg_cms.users.set_role(pg_users["admin"], "author", Role.EDITOR)
    assert promoted.role is Role.EDITOR
    assert pg_cms.users.get("author").role is Role.EDITOR


def test_admins_cannot_demote_or_disable_themselves(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """An admin cannot lock themselves out."""
    with pytest.raises(PermissionDenied, match="demote"):
        pg_cms.users.set_role(pg_users["admin"], "admin", Role.VIEWER)
    with pytest.raises(PermissionDenied, match="disable"):
        pg_cms.users.set_active(pg_users["admin"], "admin", False)
    assert pg_cms.users.get("admin").role is Role.ADMIN


def test_deactivated_users_cannot_sign_in(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A disabled account stays stored but cannot sign in until enabled again."""
    assert pg_cms.users.set_active(pg_users["admin"], "editor", False).active is False
    assert pg_cms.users.authenticate("editor", PASSWORD) is None
    pg_cms.users.set_active(pg_users["admin"], "editor", True)
    assert pg_cms.users.authenticate("editor", PASSWORD) is not None


def test_change_password(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """After a change only the new password works."""
    pg_cms.users.change_password(pg_users["author"], PASSWORD, "a-new-password")
    assert pg_cms.users.authenticate("author", PASSWORD) is None
    assert pg_cms.users.authenticate("author", "a-new-password") is not None


def test_lookups(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Users list in creation order; unknown names and ids are NotFound."""
    assert [u.username for u in pg_cms.users.all_users()] == ["admin", "editor", "author", "viewer"]
    assert pg_cms.users.by_id(pg_users["viewer"].id) == pg_users["viewer"]
    with pytest.raises(NotFound):
        pg_cms.users.get("ghost")
    with pytest.raises(NotFound):
        pg_cms.users.by_id(9999)


def test_seed_users_reuses_existing_accounts(pg_cms: CMS) -> None:
    """Seeding keeps an account that exists and creates the missing roles once."""
    own = pg_cms.users.create_user("admin", "me@example.org", "my-own-password", Role.ADMIN)
    seeded = seed_users(pg_cms, PASSWORD)
    assert seeded["admin"] == own
    assert seed_users(pg_cms, PASSWORD) == seeded
    assert pg_cms.users.count() == 4
