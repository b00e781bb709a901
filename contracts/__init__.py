"""The JSON this worker exchanges with web apps, as models: the dispatch metadata it
reads, the ``conversation`` and ``feedback_data`` it writes, the ``interview.state``
messages it publishes and its RPC replies. ``docs/schemas/`` (JSON Schema and TypeScript
declarations) is generated from these by ``scripts/schemas``; the tests validate what the
worker really produces against them and fail when a schema file drifts from its model.
"""

from __future__ import annotations

from .client import RpcReply, StateError, StateMessage, StateUpdate
from .conversation import Conversation, ConversationMessage, ConversationStage
from .metadata import DispatchMetadata

__all__ = [
    "Conversation",
    "ConversationMessage",
    "ConversationStage",
    "DispatchMetadata",
    "RpcReply",
    "StateError",
    "StateMessage",
    "StateUpdate",
]
