"""Reports built from the store's rows (`voice.store.rows`): table, JSON, CSV, PNG.

The store (`voice.store.sqlite`) reads a `History` out of SQLite; everything here is
pure except `plot_history`, which writes a file with matplotlib (the optional
`[plot]` extra, imported only when a plot is asked for). JSON and CSV are
round-trippable: `history_from_json(history_to_json(h)) == h`, likewise CSV.
Times are epoch seconds; days are local days in `tz` (None: the system zone).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from voice.coach.memory import Outcome, Screening
from voice.coach.safety import local_day_start
from voice.errors import BadInput, MissingRequirement
from voice.store.rows import History, PainRow, RunRow, SessionRow, StopRow

__all__ = [
    "CSV_COLUMNS",
    "PLOT_FIX",
    "DaySummary",
    "daily_summary",
    "history_from_csv",
    "history_from_json",
    "history_to_csv",
    "history_to_json",
    "history_to_table",
    "local_day_start",
    "plot_history",
    "require_plotting",
]

PLOT_FIX = "pip install 'backcoach[plot]'"


def _local_date(at: float, tz: tzinfo | None) -> date:
    return datetime.fromtimestamp(at, tz).date()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _local_text(at: float | None, tz: tzinfo | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class DaySummary:
    day: date
    """Local date."""
    sessions: int = 0
    runs: int = 0
    completed: int = 0
    """Runs whose outcome is completed."""
    stops: int = 0
    pain_stops: int = 0
    ratings: tuple[int, ...] = field(default_factory=tuple)
    """Pain ratings (0-10) given that day, in order."""


def daily_summary(history: History, tz: tzinfo | None = None) -> list[DaySummary]:
    """One summary per local day of the window, oldest first, empty days included."""
    first = _local_date(history.since, tz)
    last = max(_local_date(history.until, tz), first)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts: dict[date, dict[str, Any]] = {
        d: {"sessions": 0, "runs": 0, "completed": 0, "stops": 0, "pain_stops": 0, "ratings": []}
        for d in days
    }

    def bucket(at: float) -> dict[str, Any] | None:
        # Rows after `until` (a --fast session runs its clock ahead) still land
        # on a day inside the table rather than being dropped.
        return counts.get(min(max(_local_date(at, tz), first), last))

    for session in history.sessions:
        if (b := bucket(session.started_at)) is not None:
            b["sessions"] += 1
    for run in history.runs:
        if (b := bucket(run.started_at)) is not None:
            b["runs"] += 1
            b["completed"] += run.outcome is Outcome.COMPLETED
    for stop in history.stops:
        if (b := bucket(stop.at)) is not None:
            b["stops"] += 1
            b["pain_stops"] += stop.pain
    for pain in history.pains:
        if pain.rating is not None and (b := bucket(pain.at)) is not None:
            b["ratings"].append(pain.rating)
    return [
        DaySummary(
            day=d,
            sessions=c["sessions"],
            runs=c["runs"],
            completed=c["completed"],
            stops=c["stops"],
            pain_stops=c["pain_stops"],
            ratings=tuple(c["ratings"]),
        )
        for d, c in counts.items()
    ]


# ----- table -----


def _screening_line(screening: Screening | None, tz: tzinfo | None) -> str:
    if screening is None:
        return "Screening: not answered yet; the coach asks at the next session."
    when = _local_text(screening.at, tz)
    if not screening.has_condition:
        return f"Screening: answered {when}, no condition reported."
    # One line whatever the user said: a table row must not break.
    reason = " ".join(screening.reason.split())
    reason = f" ({reason})" if reason else ""
    return (
        f"Screening: answered {when}, yes{reason}: cracking routines stay locked "
        "until `backcoach profile reset`."
    )


def _format_rows(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    body = [header, *rows]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in body
    ]


def history_to_table(history: History, tz: tzinfo | None = None) -> str:
    """A readable report: per-day counts, then each routine run and pain report."""
    days = daily_summary(history, tz)
    lines = [
        f"Back Coach history: {days[0].day} to {days[-1].day} ({_plural(len(days), 'day')})",
        _screening_line(history.screening, tz),
        "",
    ]
    rows = [
        [
            str(d.day),
            str(d.sessions),
            str(d.runs),
            str(d.completed),
            str(d.stops),
            str(d.pain_stops),
            " ".join(str(r) for r in d.ratings) or "-",
        ]
        for d in days
    ]
    total = [
        "total",
        str(sum(d.sessions for d in days)),
        str(sum(d.runs for d in days)),
        str(sum(d.completed for d in days)),
        str(sum(d.stops for d in days)),
        str(sum(d.pain_stops for d in days)),
        " ".join(str(r) for d in days for r in d.ratings) or "-",
    ]
    header = ["date", "sessions", "routines", "completed", "stops", "pain stops", "pain ratings"]
    lines += _format_rows(header, [*rows, total])
    if history.runs:
        lines += ["", "Routines"]
        lines += _format_rows(
            ["started", "routine", "region", "outcome", "steps"],
            [
                [
                    _local_text(run.started_at, tz),
                    run.routine,
                    run.region,
                    run.outcome.value if run.outcome else "unfinished",
                    str(run.steps_done),
                ]
                for run in history.runs
            ],
        )
    if history.pains:
        lines += ["", "Pain reports"]
        lines += _format_rows(
            ["when", "routine", "step", "rating", "advice given", "locked until"],
            [
                [
                    _local_text(pain.at, tz),
                    pain.routine or "-",
                    "-" if pain.step is None else str(pain.step),
                    "-" if pain.rating is None else f"{pain.rating}/10",
                    "see a professional" if pain.red_flag_advice else "-",
                    _local_text(pain.locked_until, tz) or "-",
                ]
                for pain in history.pains
            ],
        )
    return "\n".join(lines) + "\n"


# ----- JSON -----


def _screening_to_dict(screening: Screening | None) -> dict[str, Any] | None:
    if screening is None:
        return None
    return {
        "has_condition": screening.has_condition,
        "at": screening.at,
        "reason": screening.reason,
    }


def history_to_json(history: History) -> str:
    """One JSON object: window, screening, and lists of sessions, runs, pains, stops."""
    document = {
        "since": history.since,
        "until": history.until,
        "screening": _screening_to_dict(history.screening),
        "sessions": [vars(s) for s in history.sessions],
        "runs": [
            {**vars(r), "outcome": r.outcome.value if r.outcome else None} for r in history.runs
        ],
        "pains": [vars(p) for p in history.pains],
        "stops": [vars(s) for s in history.stops],
    }
    return json.dumps(document, indent=2) + "\n"


def history_from_json(text: str) -> History:
    """Inverse of `history_to_json`."""
    doc = json.loads(text)
    screening = doc.get("screening")
    return History(
        since=float(doc["since"]),
        until=float(doc["until"]),
        screening=Screening(**screening) if screening else None,
        sessions=tuple(SessionRow(**s) for s in doc["sessions"]),
        runs=tuple(
            RunRow(**{**r, "outcome": Outcome(r["outcome"]) if r["outcome"] else None})
            for r in doc["runs"]
        ),
        pains=tuple(PainRow(**p) for p in doc["pains"]),
        stops=tuple(StopRow(**s) for s in doc["stops"]),
    )


# ----- CSV -----

CSV_COLUMNS: tuple[str, ...] = (
    "kind",
    "id",
    "session_id",
    "start",
    "end",
    "local_time",
    "routine",
    "region",
    "step",
    "outcome",
    "steps_done",
    "rating",
    "red_flag_advice",
    "locked_until",
    "pain",
    "has_condition",
    "reason",
)
"""One row per record, `kind` says which (window, screening, session, run, pain, stop).

`start`/`end` are epoch seconds written with `repr` so they read back exactly;
`local_time` is for people and ignored when reading. Empty cell = no value.
"""


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def history_to_csv(history: History, tz: tzinfo | None = None) -> str:
    """Long-format CSV with the columns `CSV_COLUMNS`."""
    rows: list[dict[str, object]] = [
        {"kind": "window", "start": history.since, "end": history.until}
    ]
    if history.screening:
        s = history.screening
        rows.append(
            {
                "kind": "screening",
                "start": s.at,
                "has_condition": s.has_condition,
                "reason": s.reason,
            }
        )
    for session in history.sessions:
        rows.append(
            {
                "kind": "session",
                "id": session.id,
                "start": session.started_at,
                "end": session.ended_at,
            }
        )
    for run in history.runs:
        rows.append(
            {
                "kind": "run",
                "id": run.id,
                "session_id": run.session_id,
                "start": run.started_at,
                "end": run.ended_at,
                "routine": run.routine,
                "region": run.region,
                "outcome": run.outcome.value if run.outcome else None,
                "steps_done": run.steps_done,
            }
        )
    for pain in history.pains:
        rows.append(
            {
                "kind": "pain",
                "id": pain.id,
                "session_id": pain.session_id,
                "start": pain.at,
                "routine": pain.routine,
                "region": pain.region,
                "step": pain.step,
                "rating": pain.rating,
                "red_flag_advice": pain.red_flag_advice,
                "locked_until": pain.locked_until,
            }
        )
    for stop in history.stops:
        rows.append(
            {
                "kind": "stop",
                "id": stop.id,
                "session_id": stop.session_id,
                "start": stop.at,
                "routine": stop.routine,
                "region": stop.region,
                "step": stop.step,
                "pain": stop.pain,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        start = row.get("start")
        row["local_time"] = _local_text(start if isinstance(start, (int, float)) else None, tz)
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue()


def _opt(cell: str, kind: type[int] | type[float] | type[str]) -> Any:
    return None if cell == "" else kind(cell)


def _flag(cell: str) -> bool:
    return cell == "1"


def history_from_csv(text: str) -> History:
    """Inverse of `history_to_csv`; raises `BadInput` naming the line of a bad row."""
    since = until = None
    screening: Screening | None = None
    sessions: list[SessionRow] = []
    runs: list[RunRow] = []
    pains: list[PainRow] = []
    stops: list[StopRow] = []
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        kind = row["kind"]
        try:
            if kind == "window":
                since, until = float(row["start"]), float(row["end"])
            elif kind == "screening":
                screening = Screening(
                    _flag(row["has_condition"]), float(row["start"]), row["reason"]
                )
            elif kind == "session":
                sessions.append(
                    SessionRow(int(row["id"]), float(row["start"]), _opt(row["end"], float))
                )
            elif kind == "run":
                runs.append(
                    RunRow(
                        id=int(row["id"]),
                        session_id=_opt(row["session_id"], int),
                        routine=row["routine"],
                        region=row["region"],
                        started_at=float(row["start"]),
                        ended_at=_opt(row["end"], float),
                        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
                        steps_done=int(row["steps_done"] or 0),
                    )
                )
            elif kind == "pain":
                pains.append(
                    PainRow(
                        id=int(row["id"]),
                        session_id=_opt(row["session_id"], int),
                        at=float(row["start"]),
                        routine=_opt(row["routine"], str),
                        region=_opt(row["region"], str),
                        step=_opt(row["step"], int),
                        rating=_opt(row["rating"], int),
                        red_flag_advice=_flag(row["red_flag_advice"]),
                        locked_until=_opt(row["locked_until"], float),
                    )
                )
            elif kind == "stop":
                stops.append(
                    StopRow(
                        id=int(row["id"]),
                        session_id=_opt(row["session_id"], int),
                        at=float(row["start"]),
                        routine=_opt(row["routine"], str),
                        region=_opt(row["region"], str),
                        step=_opt(row["step"], int),
                        pain=_flag(row["pain"]),
                    )
                )
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (KeyError, ValueError) as error:
            raise BadInput(f"history CSV line {reader.line_num}: {error}") from error
    if since is None or until is None:
        raise BadInput("history CSV has no 'window' row")
    return History(
        since=since,
        until=until,
        screening=screening,
        sessions=tuple(sessions),
        runs=tuple(runs),
        pains=tuple(pains),
        stops=tuple(stops),
    )


# ----- plot -----


def require_plotting() -> None:
    """Raise `MissingRequirement` (with the pip command) when matplotlib is not installed."""
    if find_spec("matplotlib") is None:
        raise MissingRequirement("plotting the history needs matplotlib", fix=PLOT_FIX)


def plot_history(history: History, path: Path, tz: tzinfo | None = None) -> Path:
    """Write a PNG: sessions per day as bars, pain ratings over time below.

    Uses matplotlib's object API with the Agg canvas, so no GUI backend and no
    pyplot global state. Raises `MissingRequirement` without matplotlib and
    `BadInput` when the file cannot be written.
    """
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    days = daily_summary(history, tz)
    figure = Figure(figsize=(8.0, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    sessions_ax, pain_ax = figure.subplots(2, 1, sharex=True)
    day_times = [datetime(d.day.year, d.day.month, d.day.day, 12, tzinfo=tz) for d in days]
    sessions_ax.bar(day_times, [d.sessions for d in days], width=0.8, color="tab:blue")  # type: ignore[arg-type]
    sessions_ax.set_ylabel("sessions")
    sessions_ax.set_title("Back Coach: sessions per day and pain ratings")
    sessions_ax.yaxis.get_major_locator().set_params(integer=True)
    rated = [p for p in history.pains if p.rating is not None]
    pain_ax.plot(
        [datetime.fromtimestamp(p.at, tz) for p in rated],  # type: ignore[misc]
        [p.rating for p in rated],
        marker="o",
        linestyle="-",
        color="tab:red",
    )
    pain_ax.set_ylim(-0.5, 10.5)
    pain_ax.set_ylabel("pain (0-10)")
    pain_ax.axhline(7, color="tab:red", linewidth=0.8, linestyle=":")
    if not rated:
        pain_ax.text(0.5, 0.5, "no pain reported", transform=pain_ax.transAxes, ha="center")
    figure.autofmt_xdate()
    try:
        figure.savefig(path, format="png")
    except OSError as error:
        raise BadInput(f"cannot write the plot to {path}: {error.strerror or error}") from error
    return path
