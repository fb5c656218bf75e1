"""Planning help from outside the engine: the LLM planner plug-in and the suggestions.

The engine plans with rules and stays pure (no HTTP); this package holds what talks to a
language model (:mod:`~musewave.planning.llm`, the one module that knows the providers), the
:class:`Planner` workers hand to the engine, and the :class:`Suggestions` behind
``/v1/suggest/*`` and ``/v1/prompt/enhance``. Each answers from rules when no model is
configured, or when the model fails.
"""

from musewave.planning.llm import LLMClient, LLMError, open_llm_client
from musewave.planning.planner import Planner, PlanOutcome
from musewave.planning.suggestions import Suggestions

__all__ = ["LLMClient", "LLMError", "PlanOutcome", "Planner", "Suggestions", "open_llm_client"]
