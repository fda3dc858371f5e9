"""One error tree for everything tensionwatch raises on purpose.

Each error names the input that was wrong and says what to do; ``str(err)``
is the one line the CLI prints and the dashboard shows. Bugs are not
wrapped: only expected failures (bad input, network, disk) become these.
"""

from __future__ import annotations

from datetime import datetime


class TensionwatchError(Exception):
    """Root of every error tensionwatch raises on purpose."""

    message = "tensionwatch failed"

    def __init__(self, message: str | None = None) -> None:
        self.detail = message or self.message
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail


class ConfigError(TensionwatchError):
    """A configuration value is missing, malformed or out of range."""

    message = "invalid configuration"

    def __init__(
        self, path: str, key: str, reason: str, value: object = None, *, has_value: bool = False
    ) -> None:
        self.path = path
        self.key = key
        self.value = value
        self.reason = reason
        shown = f" = {value!r}" if has_value else ""
        super().__init__(f"{path}: {key}{shown}: {reason}")


class FetchError(TensionwatchError):
    """A feed could not be fetched (network, HTTP status, size, policy)."""

    message = "could not fetch the feed"

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: datetime | None = None,
        gone: bool = False,
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.gone = gone
        super().__init__(f"{url}: {reason}")


class ParseError(TensionwatchError):
    """A fetched body is not a feed that can be salvaged."""

    message = "not a feed"

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class RulesError(TensionwatchError):
    """A rules file cannot be loaded; ``problems`` lists every problem found."""

    message = "invalid rules file"

    def __init__(self, path: str, problems: list[RuleProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}:{p.line}: {p.where}: {p.reason}" for p in problems]
        super().__init__("\n".join(lines) if lines else f"{path}: {self.message}")


class RuleProblem:
    """One problem in a rules file: the line, the rule (or key) and what is wrong."""

    __slots__ = ("line", "reason", "where")

    def __init__(self, line: int, where: str, reason: str) -> None:
        self.line = line
        self.where = where
        self.reason = reason

    def __repr__(self) -> str:
        return f"RuleProblem(line={self.line}, where={self.where!r}, reason={self.reason!r})"


class StorageError(TensionwatchError):
    """The database cannot be opened, migrated or written."""

    message = "database error"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class AlertError(TensionwatchError):
    """An alert rule is invalid or an alert could not be delivered."""

    message = "alert error"
