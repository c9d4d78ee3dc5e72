"""Outgoing mail: a notice to a page's author when someone else publishes the page.

Mail goes out over SMTP (``smtplib``) only when ``Settings.smtp_host`` is set; it is
off by default. A notice that cannot be sent is logged and never stops the page
from being published: the page is the work, the mail only news of it.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from webbly.config import Settings
from webbly.models import Page, User
from webbly.user_service import UserService

logger = logging.getLogger(__name__)


class Mailer(Protocol):
    """Something that delivers a message (an SMTP server, or a list in a test)."""

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message``; raise ``OSError`` or ``smtplib.SMTPException`` on failure."""


@dataclass(frozen=True)
class SmtpMailer:
    """Delivers each message over a new connection to one SMTP server."""

    host: str
    port: int
    #: Seconds to wait for the server before giving up on a message.
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        """Connect, send ``message`` and say goodbye."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def publish_notice(page: Page, author: User, publisher: User, settings: Settings) -> EmailMessage:
    """The message telling ``author`` that ``publisher`` published ``page``."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = author.email
    message["Subject"] = f"Published: {page.title}"
    message["X-Webbly-Page"] = page.slug
    message.set_content(
        f"Hello {author.username},\n\n"
        f"{publisher.username} published your page \u201c{page.title}\u201d"
        f" on {settings.site_title}:\n\n"
        f"    {settings.base_url}{page.url}\n"
    )
    return message


class PublishNotifier:
    """Mails a page's author when an editor (or admin) other than the author publishes it."""

    def __init__(self, mailer: Mailer, users: UserService, settings: Settings) -> None:
        self.mailer = mailer
        self.users = users
        self.settings = settings

    def page_published(self, publisher: User, page: Page) -> bool:
        """Send the notice for ``page``; return whether a mail went out.

        No mail when the publisher is the author or the author's account is
        disabled; a delivery failure is logged and returns False.
        """
        if page.author_id == publisher.id:
            return False
        author = self.users.by_id(page.author_id)
        if not author.active:
            return False
        try:
            self.mailer.send(publish_notice(page, author, publisher, self.settings))
        except (OSError, smtplib.SMTPException) as error:
            logger.warning("could not mail %s about page %r: %s", author.email, page.slug, error)
            return False
        return True


def publish_notifier(settings: Settings, users: UserService) -> PublishNotifier | None:
    """The notifier ``settings`` ask for: None unless an SMTP host is configured."""
    if settings.smtp_host is None:
        return None
    return PublishNotifier(SmtpMailer(settings.smtp_host, settings.smtp_port), users, settings)
