"""What the job page shows of a job's steps and output (no Reflex)."""

from __future__ import annotations

from pydantic import BaseModel

from lxc_manager.operations.jobs import StepView as OperationStep
from lxc_manager.provisioning.display import LogEntry, elapsed_text
from lxc_manager.provisioning.jobs import StepView


class StepRow(BaseModel):
    number: int
    name: str
    state: str
    elapsed: str
    message: str


class LogLine(BaseModel):
    id: str
    text: str
    stream: str = "stdout"
    level: str = ""  # info | warn | error | step


def step_row(step: StepView | OperationStep) -> StepRow:
    """A step of a creation or of an operation (both views have these fields)."""
    return StepRow(
        number=step.number,
        name=step.name,
        state=step.state,
        elapsed=elapsed_text(step.started_at, step.ended_at),
        message=step.message,
    )


operation_step_row = step_row


def log_line(entry: LogEntry) -> LogLine:
    return LogLine(id=entry.id, text=entry.text, stream=entry.stream, level=entry.level)
