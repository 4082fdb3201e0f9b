"""Error hierarchy. The CLI turns these into user text and exit codes."""

from __future__ import annotations

__all__ = [
    "AudioDeviceError",
    "BackCoachError",
    "BadInput",
    "MissingRequirement",
    "RoutineFileError",
]


class BackCoachError(Exception):
    """Base class of every error Back Coach raises on purpose."""

    exit_code = 1


class BadInput(BackCoachError):
    """Input the user can fix: a file, an argument, a routine."""

    exit_code = 2


class MissingRequirement(BackCoachError):
    """Something to install or set up; `fix` says exactly what."""

    exit_code = 2

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix
        """The command or step that makes the requirement present."""

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  fix: {self.fix}" if self.fix else base


class AudioDeviceError(MissingRequirement):
    """No usable audio device, or a device that went away."""


class RoutineFileError(BadInput):
    """A routine or precautions file that does not match the schema."""

    def __init__(
        self,
        file: str,
        field: str,
        problem: str,
        routine: str | None = None,
        step: int | None = None,
    ) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        self.routine = routine
        self.step = step
        where = [f"file {file}"]
        if routine:
            where.append(f"routine {routine}")
        if step is not None:
            where.append(f"step {step}")
        where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {problem}")
