"""Storage of user accounts."""

from __future__ import annotations

from webbly.db.connection import Database, Row
from webbly.models import Role, User

_COLUMNS = "id, username, email, password_hash, role, active, created_at"


def _user(row: Row) -> User:
    return User(
        id=int(row["id"]),
        username=row["username"],
        email=row["email"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        active=bool(row["active"]),
        created_at=row["created_at"],
    )


class UserRepository:
    """Reads and writes the ``users`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, username: str, email: str, password_hash: str, role: Role, now: str) -> User:
        """Insert a user; the caller has checked the username is free."""
        user_id = self.db.insert(
            "INSERT INTO users (username, email, password_hash, role, active, created_at)"
            " VALUES (?, ?, ?, ?, 1, ?) RETURNING id",
            (username, email, password_hash, role.value, now),
        )
        return User(user_id, username, email, role, password_hash, True, now)

    def get(self, user_id: int) -> User | None:
        """The user with ``user_id``, if any."""
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)

    def by_username(self, username: str) -> User | None:
        """The user called ``username`` (case-insensitive), if any."""
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM users WHERE username = ?", (username.lower(),)
        )
        return None if row is None else _user(row)

    def all_users(self) -> list[User]:
        """Every user, by username."""
        return [_user(r) for r in self.db.fetchall(f"SELECT {_COLUMNS} FROM users ORDER BY id")]

    def count(self) -> int:
        """Number of users."""
        return int(self.db.scalar("SELECT count(*) FROM users"))

    def set_role(self, user_id: int, role: Role) -> None:
        """Change a user's role."""
        self.db.execute("UPDATE users SET role = ? WHERE id = ?", (role.value, user_id))

    def set_active(self, user_id: int, active: bool) -> None:
        """Enable or disable sign-in for a user."""
        self.db.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Store a new password hash."""
        self.db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
        )
