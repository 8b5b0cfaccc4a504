"""`sportello channels telegram set-webhook URL`: register the service's webhook with a channel.

Only Telegram needs a call from us: Meta's webhook is set in the app dashboard (with
SPORTELLO_WHATSAPP_VERIFY_TOKEN) and Chatwoot's in the agent bot's settings (see README).
"""

from __future__ import annotations

from typing import Annotated

import typer

from sportello.cli.output import JsonOption, fail, print_json
from sportello.settings import Settings

channels_app = typer.Typer(help="Connect messaging channels.", no_args_is_help=True)
telegram_app = typer.Typer(help="The Telegram bot.", no_args_is_help=True)
channels_app.add_typer(telegram_app, name="telegram")


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[str, typer.Argument(help="public HTTPS URL of /channels/telegram/webhook")],
    as_json: JsonOption = False,
) -> None:
    """Point the bot's updates at URL, with SPORTELLO_TELEGRAM_SECRET_TOKEN as the secret Telegram
    sends back in every request (the webhook refuses requests without it)."""
    import httpx

    from api import telegram_set_webhook_request

    settings = Settings.from_env()
    missing = [name for name, value in (("SPORTELLO_TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
                                        ("SPORTELLO_TELEGRAM_SECRET_TOKEN", settings.telegram_secret_token)) if not value]
    if missing:
        raise fail(f"set {' and '.join(missing)} first (the secret token is any string you choose)")
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise fail(f"{url!r} is not an HTTPS URL: Telegram only delivers webhooks over HTTPS")
    endpoint, body = telegram_set_webhook_request(settings, url)
    try:
        response = httpx.post(endpoint, json=body, timeout=30.0)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise fail(f"could not reach the Bot API at {settings.telegram_api_base}: {type(exc).__name__}") from exc
    if not answer.get("ok"):
        raise fail(f"Telegram refused the webhook: {answer.get('description', response.status_code)}")
    if as_json:
        print_json({"ok": True, "url": url, "description": answer.get("description")})
    else:
        typer.echo(f"webhook set: {url}")
