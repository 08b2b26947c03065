"""The action server: what ``rasa run actions`` starts, closed to everyone but the
Rasa servers. ``python -m actions.server --port 5055`` takes the same arguments.

The SDK's server listens on every interface and runs any action for anyone who can
reach it (a direct POST of ``action_submit_enquiry`` stored an enquiry and queued mail
to any address), and its error answer echoes the whole conversation back. Here it
listens on ``ACTION_SERVER_HOST`` (loopback unless configured), every call but the
health check must carry ``Authorization: Bearer $ACTION_SERVER_TOKEN`` (the endpoints
files send it), it does not start without that token, and a failed action is answered
with its name and error type only.
"""

from __future__ import annotations

import logging
import sys

from rasa_sdk import endpoint, utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from bot import logs, settings, tokens

log = logging.getLogger(__name__)

OPEN_PATHS = ("/health",)


def create_app(token: str, actions_package: str = "actions") -> Sanic:
    app = endpoint.create_app(actions_package, cors_origins=None)

    @app.middleware("request")
    async def only_the_rasa_servers(request: Request):
        if request.path in OPEN_PATHS:
            return None
        if not tokens.matches(request.headers.get("Authorization"), token):
            log.warning("refused a call to %s without the action server's token", request.path)
            return response.json({"error": "the action server's token is missing or wrong"}, 401)
        return None

    async def failed(request: Request, exception: Exception):
        if isinstance(exception, SanicException):  # a bad request, not a failed action
            return response.json({"error": str(exception)}, exception.status_code)
        call = _action_call(request)
        action = call.get("next_action")
        token = logs.conversation_id.set(call.get("sender_id"))  # the patch's has been reset
        try:
            log.error("action %s failed: %s", action, type(exception).__name__, exc_info=exception)
        finally:
            logs.conversation_id.reset(token)
        return response.json({"error": type(exception).__name__, "action_name": action}, 500)

    app.error_handler.add(Exception, failed)
    return app


def _action_call(request: Request) -> dict:
    try:
        body = request.json if request.path == "/webhook" else None
    except Exception:  # the error answer must not fail itself
        return {}
    return body if isinstance(body, dict) else {}


def main(argv: list[str] | None = None) -> int:
    args = endpoint.create_argument_parser().parse_args(argv)
    try:
        current = settings.get()
    except settings.SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if not current.action_server_token:
        print(
            "ACTION_SERVER_TOKEN is not set: the action server does not start without the "
            "token the Rasa servers send (make run makes one).",
            file=sys.stderr,
        )
        return 2
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    app = create_app(current.action_server_token, args.actions)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logs.configure("actions")  # adopts the handlers configured just now
    ssl_context = endpoint.create_ssl_context(
        args.ssl_certificate, args.ssl_keyfile, args.ssl_password
    )
    log.info("action server on %s:%s", current.action_server_host, args.port)
    app.run(
        current.action_server_host,
        args.port,
        ssl=ssl_context,
        workers=utils.number_of_sanic_workers(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
