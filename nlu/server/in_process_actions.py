"""Custom actions run inside the Rasa server, as Rasa Pro does since 3.10, instead of
over HTTP to the action server: ``action_endpoint: {actions_module: actions}`` in the
endpoints file (Rasa Pro's own setting), and no ``url`` (the endpoints files leave it
empty unless ``ACTION_SERVER=on``). It is the default because it answers a third
faster for one visitor and as fast under load on 2 cores (`make bench`, section 7).

The action call and its result are the same dictionaries the HTTP hop carries, given to
the Rasa SDK's executor directly: no JSON written and read on both sides, no request,
no second process. Errors are answered as the action server answers them, so Rasa's
``RemoteAction`` treats them alike: a rejection (400) lets a form's other slots be
asked, an unknown action is 404, and a failed action is logged here with its name and
error type and is 500.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

log = logging.getLogger(__name__)

SETTING = "actions_module"


class InProcessActions(EndpointConfig):
    """An action endpoint whose requests run the actions of one package here."""

    def __init__(self, package: str) -> None:
        super().__init__(url=f"in-process:{package}")
        self.executor = ActionExecutor()
        self.executor.register_package(package)

    async def request(self, method: str = "post", subpath=None, **kwargs):
        call = kwargs["json"]
        try:
            return await self.executor.run(call)
        except ActionExecutionRejection as rejection:
            body = {"error": rejection.message, "action_name": rejection.action_name}
            raise ClientResponseError(400, rejection.message, json.dumps(body)) from rejection
        except ActionNotFoundException as missing:
            body = {"error": missing.message, "action_name": missing.action_name}
            raise ClientResponseError(404, "Not Found", json.dumps(body)) from missing
        except Exception as error:  # as actions/server.py answers a failed action
            name, kind = call.get("next_action"), type(error).__name__
            log.error("action %s failed: %s", name, kind, exc_info=error)
            body = json.dumps({"error": kind, "action_name": name})
            raise ClientResponseError(500, "Internal Server Error", body) from error


@lru_cache(maxsize=None)
def endpoint_for(package: str) -> InProcessActions:
    """One executor per package for the process: registering imports every action."""
    return InProcessActions(package)


def configured(endpoint: EndpointConfig | None) -> str | None:
    """The package an endpoints file names to run in-process, if it names one and no
    action server's URL."""
    if endpoint is None or isinstance(endpoint, InProcessActions) or endpoint.url:
        return None
    return endpoint.kwargs.get(SETTING)
