"""User accounts: creation, sign-in, roles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webbly.clock import Clock, to_timestamp
from webbly.db.connection import Database
from webbly.db.users import UserRepository
from webbly.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from webbly.forms import validate_user
from webbly.models import Role, User
from webbly.passwords import hash_password, needs_rehash, verify_password
from webbly.permissions import Permission, require


class UserService:
    """Creates users, checks passwords, manages roles."""

    def __init__(self, db: Database, clock: Clock, *, password_iterations: int) -> None:
        self.repo = UserRepository(db)
        self.clock = clock
        self.iterations = password_iterations

    def create_user(self, username: str, email: str, password: str,
                    role: Role = Role.AUTHOR) -> User:
        """Create an account without a permission check (for the CLI and seeding)."""
        username, email, password, role = validate_user(
            {"username": username, "email": email, "password": password, "role": role.value}
        )
        if self.repo.by_username(username) is not None:
            raise Conflict(f"user {username!r} exists")
        encoded = hash_password(password, iterations=self.iterations)
        return self.repo.add(username, email, encoded, role, to_timestamp(self.clock()))

    def add_user(self, actor: User | None, data: Mapping[str, Any]) -> User:
        """Create an account on behalf of an admin."""
        require(actor, Permission.MANAGE_USERS)
        username, email, password, role = validate_user(data)
        return self.create_user(username, email, password, role)

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with these credentials, or None.

        A hash made with other settings is upgraded on successful sign-in.
        """
        user = self.repo.by_username(username)
        if user is None or not user.active or not verify_password(password, user.password_hash):
            return None
        if needs_rehash(user.password_hash, iterations=self.iterations):
            self.repo.set_password_hash(user.id, hash_password(password,
                                                               iterations=self.iterations))
            user = self.repo.get(user.id) or user
        return user

    def get(self, username: str) -> User:
        """The user called ``username``."""
        user = self.repo.by_username(username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        return user

    def by_id(self, user_id: int) -> User:
        """The user with ``user_id``."""
        user = self.repo.get(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        return user

    def all_users(self) -> list[User]:
        """Every user."""
        return self.repo.all_users()

    def count(self) -> int:
        """Number of users."""
        return self.repo.count()

    def set_role(self, actor: User | None, username: str, role: Role) -> User:
        """Change someone's role (admins only; nobody demotes themselves)."""
        admin = require(actor, Permission.MANAGE_USERS)
        user = self.get(username)
        if user.id == admin.id and role is not Role.ADMIN:
            raise PermissionDenied("admins cannot demote themselves")
        self.repo.set_role(user.id, role)
        return self.by_id(user.id)

    def set_active(self, actor: User | None, username: str, active: bool) -> User:
        """Enable or disable an account (admins only; not their own)."""
        admin = require(actor, Permission.MANAGE_USERS)
        user = self.get(username)
        if user.id == admin.id:
            raise PermissionDenied("admins cannot disable themselves")
        self.repo.set_active(user.id, active)
        return self.by_id(user.id)

    def change_password(self, user: User, old: str, new: str) -> None:
        """Change one's own password after checking the old one."""
        if not verify_password(old, user.password_hash):
            raise PermissionDenied("current password is wrong")
        if len(new) < 8:
            raise ValidationFailed({"password": "must be at least 8 characters"})
        self.repo.set_password_hash(user.id, hash_password(new, iterations=self.iterations))
