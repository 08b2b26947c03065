"""The action server's log lines name the conversation each action runs for, and
follow the production log format (bot/logs.py)."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from bot import logs


def install() -> None:
    original = ActionExecutor.run
    if getattr(original, "observed", False):
        return

    async def run(self, action_call):
        token = logs.conversation_id.set(action_call.get("sender_id"))
        try:
            return await original(self, action_call)
        finally:
            logs.conversation_id.reset(token)

    run.observed = True
    ActionExecutor.run = run
    logs.configure("actions")
