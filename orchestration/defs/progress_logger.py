"""A terse Dagster logger for the CLI: one line per step event and per message a step logs."""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

_STEP_EVENTS = {"STEP_START": "started", "STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED"}
FAILURE_LINES = 6
# Where Dagster puts a run's structured record (step key, event, original message) on each
# logging.LogRecord it hands a job's loggers; dg.json_console_logger writes it out under this name.
DAGSTER_RECORD_ATTRIBUTE = "dagster_meta"


def step_failure_cause(error) -> str:
    """The exception a step raised, as `Type: message` (its first FAILURE_LINES lines), from the
    step failure's error (Dagster's SerializableErrorInfo).

    Dagster wraps what user code raises in its own errors ("Error occurred while executing op
    ...") and keeps the real exception as the wrapper's cause: skip those wrappers."""
    if error is None:
        return "failed (no error recorded)"
    while error.cause is not None and _is_user_code_wrapper(error.cls_name):
        error = error.cause
    qualified, separator, message = error.message.strip().partition(":")
    # format_exception_only names classes outside builtins with their module: keep the class name
    if qualified.rpartition(".")[2] == error.cls_name:
        qualified = error.cls_name
    lines = f"{qualified}{separator}{message}".splitlines()
    if len(lines) > FAILURE_LINES:
        lines = [*lines[:FAILURE_LINES], f"... ({len(lines) - FAILURE_LINES} more lines)"]
    return "\n".join(lines)


def _is_user_code_wrapper(cls_name: str | None) -> bool:
    wrapper = getattr(dg, cls_name or "", None)
    return isinstance(wrapper, type) and issubclass(wrapper, dg.DagsterUserCodeExecutionError)


class _ProgressHandler(logging.Handler):
    def __init__(self, stream):
        super().__init__(logging.DEBUG)
        self.stream = stream
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, DAGSTER_RECORD_ATTRIBUTE, None)
        if meta is None:
            return
        step = meta.get("step_key") or "run"
        event = meta.get("dagster_event")
        if event is None:
            if record.levelno >= logging.INFO:
                self._write(f"{step}: {meta['orig_message']}")
        elif event.event_type_value in _STEP_EVENTS:
            self._step_line(step, event)
        elif event.event_type_value == "ASSET_MATERIALIZATION" and step != "ingest_transfers":
            self._write(f"{step}: built {event.asset_key.to_user_string()}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                outcome = "FAILED" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "has warnings"
                self._write(f"{step}: check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} {outcome}")

    def _step_line(self, step: str, event) -> None:
        state = _STEP_EVENTS[event.event_type_value]
        if state == "started":
            self.started[step] = time.monotonic()
            self._write(f"{step}: started")
            return
        elapsed = time.monotonic() - self.started.get(step, time.monotonic())
        detail = ""
        if state == "FAILED":
            detail = f": {step_failure_cause(event.step_failure_data.error if event.step_failure_data else None)}"
        self._write(f"{step}: {state} in {elapsed:.1f}s{detail}")

    def _write(self, line: str) -> None:
        self.stream.write(f"[{time.strftime('%H:%M:%S')}] {line}\n")
        self.stream.flush()


@dg.logger(description="One line per step for `regenheart refresh` (stderr).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    # Dagster logs its structured events at DEBUG: take them all, print the few that matter.
    log = logging.Logger("regenheart_progress", level=logging.DEBUG)
    log.addHandler(_ProgressHandler(sys.stderr))
    return log
