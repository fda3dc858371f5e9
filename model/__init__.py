"""The frozen data types passed between tensionwatch's stages, and its error tree.

Data flows one way: a ``FeedSpec`` (configured) is fetched into a
``FetchResult``, parsed into a ``ParsedFeed`` of ``ParsedEntry``, normalised
into ``NormalisedItem``, tagged into ``TaggedItem`` and stored; a pass over
one feed ends in a ``PollOutcome``. This package imports nothing else of ours.
"""

from model.errors import (
    AlertError,
    ConfigError,
    FetchError,
    ParseError,
    RuleProblem,
    RulesError,
    StorageError,
    TensionwatchError,
)
from model.types import (
    ConditionalHeaders,
    FeedSpec,
    FetchPolicy,
    FetchResult,
    Match,
    NormalisedItem,
    ParsedEntry,
    ParsedFeed,
    PollOutcome,
    TaggedItem,
    Tagging,
)

__all__ = [
    "AlertError",
    "ConditionalHeaders",
    "ConfigError",
    "FeedSpec",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "Match",
    "NormalisedItem",
    "ParseError",
    "ParsedEntry",
    "ParsedFeed",
    "PollOutcome",
    "RuleProblem",
    "RulesError",
    "StorageError",
    "TaggedItem",
    "Tagging",
    "TensionwatchError",
]
