"""Exceptions for evals: each says what to fix; the CLI turns them into exit code 2."""

from __future__ import annotations

from sportello.errors import SportelloError


class EvalError(SportelloError):
    """Base class: the eval could not run as asked."""


class SuiteError(EvalError):
    """The suite file is invalid. The message names the file, the case id and the field."""


class ReportError(EvalError):
    """A report file (e.g. a `--baseline`) cannot be read or is not a version this code knows."""


class GateError(EvalError):
    """A `--fail-under` threshold is malformed."""


class UnknownMetric(GateError):
    """A `--fail-under` threshold names a metric the report does not have."""


class TargetError(EvalError):
    """The assistant under test could not answer a message (HTTP error, unreachable service)."""
