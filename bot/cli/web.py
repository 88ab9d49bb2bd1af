"""`yishiting web link USER`: a one-time login link to the web console, made on the server."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from bot.cli.output import say
from bot.clock import zone
from bot.config import Settings, WebConfig
from bot.weblogin.links import LoginLinks
from bot.weblogin.signing import Signer, load_key


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Signs a link with the data folder's key (the running bot checks it and records its
    single use); writes nothing to the store, so it works while the bot runs."""
    user: str = args.user
    if user not in settings.roles.admins and user not in settings.roles.staff:
        print(
            f"yishiting: {user} is not in roles.admins or roles.staff: "
            "only staff and admins can log in to the web console",
            file=sys.stderr,
        )
        return 2
    web = settings.web or WebConfig()
    if settings.web is None:
        print(
            "yishiting: note: no web: section in the settings; `run` serves no console",
            file=sys.stderr,
        )
    tz = zone(settings.timezone)
    links = LoginLinks(Signer(load_key(settings.data_dir)), lambda: datetime.now(tz))
    say(links.url(web.public_url, user))
    return 0
