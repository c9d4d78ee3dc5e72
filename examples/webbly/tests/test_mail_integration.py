"""Publish notices sent over SMTP to a sink on one fixed port.

Every test here holds the port WEBBLY_TEST_SMTP_PORT (default 8025) from setup to
teardown, so they are marked with the ``smtp`` resource, whose capacity is 1
(``[tool.testfleet.resources]`` in pyproject.toml): under ``--workers`` testfleet
runs them one at a time, in any worker, while the other workers run the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import smtplib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smtp_sink import SmtpSink
from webbly.cms import CMS
from webbly.models import User
from webbly.seed import seed_users
from webbly.workflow import Action

pytestmark = pytest.mark.resource("smtp")

HOST = "127.0.0.1"
PORT = int(os.environ.get("WEBBLY_TEST_SMTP_PORT", "8025"))
PASSWORD = "webbly-demo-password"
SENDER = "news@webbly.test"


@contextlib.contextmanager
def port_lock(port: int) -> Iterator[None]:
    """Hold the machine-wide lock on ``port`` (a ``flock`` on a file in the temp directory).

    Under testfleet it is always free: the ``smtp`` resource already keeps the
    tests apart. It is for runners that do not read the mark (pytest-xdist's
    ``-n``) and for two runs of the suite on one machine, which would otherwise
    fail to bind the port; they wait their turn here instead.
    """
    path = Path(tempfile.gettempdir()) / f"webbly-test-smtp-{port}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def free_port() -> Iterator[int]:
    """The fixed port, held for this test, with nothing listening on it."""
    with port_lock(PORT):
        yield PORT


@pytest.fixture
def smtp_sink(free_port: int) -> Iterator[SmtpSink]:
    """An SMTP sink on the fixed port for this test only; stopped at teardown."""
    with SmtpSink(HOST, free_port) as sink:
        yield sink


@pytest.fixture
def mail_site(site_factory: Callable[..., CMS], free_port: int) -> CMS:
    """A site that mails through the fixed port."""
    return site_factory("mail", smtp_host=HOST, smtp_port=free_port, mail_from=SENDER)


@pytest.fixture
def mail_users(mail_site: CMS) -> dict[str, User]:
    """One user per role on ``mail_site``."""
    return seed_users(mail_site, PASSWORD)


def draft(cms: CMS, author: User, title: str = "Spring Planting") -> str:
    """A draft page by ``author``; its slug."""
    return cms.pages.create(author, {"title": title, "body": "Sow the beans."}).slug


def test_publishing_mails_the_author(
    mail_site: CMS, mail_users: dict[str, User], smtp_sink: SmtpSink
) -> None:
    """An editor publishing an author's page sends the author one notice with the page's URL."""
    slug = draft(mail_site, mail_users["author"])
    mail_site.pages.transition(mail_users["editor"], slug, Action.PUBLISH)
    [mail] = smtp_sink.received
    assert (mail.sender, mail.recipients) == (SENDER, ("author@example.org",))
    message = mail.message
    assert message["Subject"] == "Published: Spring Planting"
    assert (message["From"], message["To"]) == (SENDER, "author@example.org")
    assert message["X-Webbly-Page"] == slug
    body = message.get_content()
    assert "editor published your page" in body
    assert f"http://webbly.test/pages/{slug}" in body


def test_publishing_ones_own_page_sends_nothing(
    mail_site: CMS, mail_users: dict[str, User], smtp_sink: SmtpSink
) -> None:
    """Nobody needs news of what they did themselves."""
    slug = draft(mail_site, mail_users["editor"])
    mail_site.pages.transition(mail_users["editor"], slug, Action.PUBLISH)
    assert smtp_sink.received == []


def test_only_publishing_sends_notices(
    mail_site: CMS, mail_users: dict[str, User], smtp_sink: SmtpSink
) -> None:
    """Unpublish, archive and restore send nothing; each publish sends one notice."""
    editor = mail_users["editor"]
    slug = draft(mail_site, mail_users["author"])
    for action in (Action.PUBLISH, Action.UNPUBLISH, Action.ARCHIVE, Action.RESTORE):
        mail_site.pages.transition(editor, slug, action)
    assert len(smtp_sink.received) == 1
    mail_site.pages.transition(editor, slug, Action.PUBLISH)
    assert len(smtp_sink.received) == 2


def test_no_mail_without_an_smtp_host(
    site_factory: Callable[..., CMS], smtp_sink: SmtpSink
) -> None:
    """Mail is off by default: a site without smtp_host never connects to the sink."""
    site = site_factory("quiet")
    users = seed_users(site, PASSWORD)
    assert site.notifier is None
    site.pages.transition(users["editor"], draft(site, users["author"]), Action.PUBLISH)
    assert smtp_sink.received == []


def test_disabled_authors_get_no_mail(
    mail_site: CMS, mail_users: dict[str, User], smtp_sink: SmtpSink
) -> None:
    """A disabled account is not mailed."""
    slug = draft(mail_site, mail_users["author"])
    mail_site.users.set_active(mail_users["admin"], "author", False)
    mail_site.pages.transition(mail_users["editor"], slug, Action.PUBLISH)
    assert smtp_sink.received == []


def test_non_ascii_titles_arrive_intact(
    mail_site: CMS, mail_users: dict[str, User], smtp_sink: SmtpSink
) -> None:
    """Accents in the title survive the subject's and the body's encoding."""
    slug = draft(mail_site, mail_users["author"], "Crème brûlée für alle")
    mail_site.pages.transition(mail_users["admin"], slug, Action.PUBLISH)
    [mail] = smtp_sink.received
    assert mail.message["Subject"] == "Published: Crème brûlée für alle"
    assert "\u201cCrème brûlée für alle\u201d" in mail.message.get_content()


def test_publishing_goes_on_when_the_server_is_down(
    mail_site: CMS, mail_users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    """With nothing listening on the port the page is published and the failure logged."""
    slug = draft(mail_site, mail_users["author"])
    with caplog.at_level(logging.WARNING, logger="webbly.mail"):
        page = mail_site.pages.transition(mail_users["editor"], slug, Action.PUBLISH)
    assert page.state.value == "published"
    assert "could not mail author@example.org" in caplog.text


def test_the_sink_restores_dot_stuffed_lines(smtp_sink: SmtpSink) -> None:
    """A body line starting with a dot arrives as it was written (RFC 5321 4.5.2)."""
    body = "Subject: dots\r\n\r\n.hidden line\r\n..two dots\r\nend\r\n"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.sendmail("a@example.org", ["b@example.org", "c@example.org"], body)
    [mail] = smtp_sink.received
    assert mail.recipients == ("b@example.org", "c@example.org")
    assert mail.data == body.encode("ascii")
