"""The ``webbly`` command: set up, fill, export and serve a site."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from webbly import __version__
from webbly.archive import export_markdown, import_directory
from webbly.cms import CMS
from webbly.config import Settings
from webbly.errors import WebblyError
from webbly.models import Role
from webbly.seed import seed_site
from webbly.sitebuild import build_site


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="webbly", description=__doc__)
    parser.add_argument("--version", action="version", version=f"webbly {__version__}")
    parser.add_argument("--data-dir", type=Path,
                        help="site directory (database, index, media); default: WEBBLY_DATA_DIR")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create the database and index")
    user = commands.add_parser("create-user", help="add a user")
    user.add_argument("username")
    user.add_argument("email")
    user.add_argument("--role", choices=[role.value for role in Role], default="author")
    user.add_argument("--password", help="default: prompt")
    seed = commands.add_parser("seed", help="fill the site with generated demo pages")
    seed.add_argument("--pages", type=int, default=100)
    seed.add_argument("--seed", type=int, default=7)
    importer = commands.add_parser("import", help="import a directory of Markdown files")
    importer.add_argument("directory", type=Path)
    importer.add_argument("--as", dest="username", required=True, help="acting user")
    exporter = commands.add_parser("export", help="write every page as Markdown")
    exporter.add_argument("directory", type=Path)
    build = commands.add_parser("build", help="render the published site to static HTML")
    build.add_argument("directory", type=Path)
    commands.add_parser("reindex", help="rebuild the search index")
    commands.add_parser("stats", help="print counts as JSON")
    serve = commands.add_parser("serve", help="serve the site with wsgiref")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if args.data_dir is not None:
        settings = Settings.for_directory(args.data_dir).with_changes(
            site_title=settings.site_title, base_url=settings.base_url,
            password_iterations=settings.password_iterations,
        )
    try:
        with CMS.open(settings) as cms:
            return _run(cms, args)
    except WebblyError as exc:
        print(f"webbly: {exc}", file=sys.stderr)
        return 1


def _run(cms: CMS, args: argparse.Namespace) -> int:
    command = args.command
    if command == "init":
        print(f"initialised {cms.settings.data_dir}")
    elif command == "create-user":
        password = args.password or getpass.getpass(f"password for {args.username}: ")
        user = cms.users.create_user(args.username, args.email, password, Role(args.role))
        print(f"created {user.username} ({user.role.value})")
    elif command == "seed":
        report = seed_site(cms, pages=args.pages, seed=args.seed)
        print(f"seeded {len(report.slugs)} pages; users: {', '.join(report.users)}"
              f" (new accounts' password: {report.password})")
    elif command == "import":
        actor = cms.users.get(args.username)
        result = import_directory(cms, actor, args.directory)
        print(f"created {len(result.created)}, updated {len(result.updated)}, "
              f"unchanged {len(result.unchanged)}, failed {len(result.failed)}")
        for source, message in result.failed:
            print(f"  {source}: {message}", file=sys.stderr)
        return 1 if result.failed else 0
    elif command == "export":
        print(f"exported {export_markdown(cms, args.directory)} pages")
    elif command == "build":
        built = build_site(cms, args.directory)
        print(f"built {built.pages} pages, {built.tags} tags, {built.media} media files"
              f" ({built.files} files, {built.bytes} bytes)")
    elif command == "reindex":
        print(f"indexed {cms.pages.reindex()} pages")
    elif command == "stats":
        print(json.dumps(cms.stats().to_dict(), indent=2, sort_keys=True))
    elif command == "serve":
        from webbly.web.app import create_app
        from webbly.web.server import make_app_server, server_url

        with make_app_server(create_app(cms), args.host, args.port) as server:
            print(f"serving {cms.settings.site_title} at {server_url(server)}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
    return 0
