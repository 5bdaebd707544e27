"""Who is who: the course's student ids for the people of an LMS export, and the LMS's own
submission times.

Two people never get one id.  With a roster (``student_id`` plus any of ``lms_id``, ``name``,
``email``, ``login``) the roster decides, and a person it cannot tell from another is refused.
Without one the id comes from the name (or the LMS id), and people whose ids would be equal --
ignoring letter case, as macOS and Windows folders do -- each get their LMS id appended (a short
hash of the name in plain layouts), with a warning; ids given by earlier ingests are kept, so
they stay stable from one export to the next.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from convcourse.instructor.intake.ingest_names import Who, name_id, nfc, student_id_from_name
from convcourse.instructor.intake.ingest_record import SubmissionTime, iso_utc
from convcourse.instructor.layout import SAFE_ID, ConfigError

__all__ = ["IngestError", "LmsTimes", "Roster", "assign_ids", "load_lms_times"]


class IngestError(ConfigError):
    """The input cannot be ingested at all (missing, not a zip or folder, a bomb, an unusable
    roster or times file, ...)."""


class Roster:
    """The course's ids for LMS identities, from a CSV with a ``student_id`` column."""

    def __init__(self, path: Path):
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise IngestError(f"cannot read the roster {path}: {exc}") from None
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "student_id" not in reader.fieldnames:
            raise IngestError(f"the roster {path} needs a 'student_id' column")
        self.by_lms: dict[str, str] = {}
        self.lms_of: dict[str, str] = {}
        self.by_key: dict[str, set[str]] = {}
        for row in reader:
            sid = (row.get("student_id") or "").strip()
            if not sid:
                continue
            if not SAFE_ID.match(sid):
                raise IngestError(f"the roster {path} has an unusable student id {sid!r}")
            lms_id = (row.get("lms_id") or "").strip()
            if lms_id:
                if self.by_lms.get(lms_id, sid) != sid:
                    raise IngestError(
                        f"the roster {path} gives LMS id {lms_id} to both "
                        f"{self.by_lms[lms_id]} and {sid}"
                    )
                self.by_lms[lms_id] = sid
                self.lms_of[sid] = lms_id
            for key in ("name", "email", "login", "student_id"):
                value = nfc((row.get(key) or "").strip())
                if value:
                    for k in {value.casefold(), student_id_from_name(value)} - {""}:
                        self.by_key.setdefault(k, set()).add(sid)

    def match(self, who: Who) -> tuple[str | None, bool, str]:
        """``(student id, matched by LMS id, why not)`` for one person of the export."""
        if who.lms_id and who.lms_id in self.by_lms:
            return self.by_lms[who.lms_id], True, ""
        keys = {who.name.casefold(), student_id_from_name(who.name)} - {""}
        sids = set().union(*(self.by_key.get(k, set()) for k in keys))
        # A roster row with an LMS id is that LMS user, nobody else of the same name.
        sids = {
            s for s in sids if not (who.lms_id and self.lms_of.get(s, who.lms_id) != who.lms_id)
        }
        if len(sids) == 1:
            return sids.pop(), False, ""
        if sids:
            return (
                None,
                False,
                f"the roster has several students named so ({', '.join(sorted(sids))})",
            )
        return None, False, "not in the roster"


@dataclass(frozen=True)
class LmsTimes:
    """Submission times and late flags the LMS recorded, by LMS id and by student id."""

    by_lms: dict[str, SubmissionTime]
    by_student: dict[str, SubmissionTime]

    def get(self, who: Who | None, student: str) -> SubmissionTime | None:
        if who is not None and who.lms_id and who.lms_id in self.by_lms:
            return self.by_lms[who.lms_id]
        return self.by_student.get(student)


_TIME_ID_COLUMNS = ("lms_id", "user_id", "participant_id", "identifier")
_TIME_COLUMNS = ("submitted_at", "timestamp", "submission_time")
_TRUE = {"true", "yes", "1", "late", "y"}
_FALSE = {"false", "no", "0", "n", "on time"}


def load_lms_times(path: Path) -> LmsTimes:
    """Read the LMS's submission times (columns: see :mod:`convcourse.instructor.intake.ingest`)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read the submission times {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {(c or "").strip().casefold(): c for c in reader.fieldnames or []}
    id_cols = [columns[c] for c in _TIME_ID_COLUMNS if c in columns]
    sid_col = columns.get("student_id")
    time_col = next((columns[c] for c in _TIME_COLUMNS if c in columns), None)
    late_col = columns.get("late")
    if not (id_cols or sid_col) or not (time_col or late_col):
        raise IngestError(
            f"the submission times {path} need an id column ({', '.join(_TIME_ID_COLUMNS)} or "
            f"student_id) and a time column ({', '.join(_TIME_COLUMNS)}) or a 'late' column"
        )
    by_lms: dict[str, SubmissionTime] = {}
    by_student: dict[str, SubmissionTime] = {}
    for n, row in enumerate(reader, start=2):
        raw_time = (row.get(time_col) or "").strip() if time_col else ""
        timestamp = None
        if raw_time:
            try:
                parsed = dt.datetime.fromisoformat(raw_time)
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise IngestError(
                    f"{path} line {n}: {raw_time!r} is not an ISO 8601 time with a UTC offset "
                    "(e.g. 2026-11-20T14:00:00Z); a time without its zone cannot be trusted"
                )
            timestamp = iso_utc(parsed)
        late = None
        if late_col:
            flag = (row.get(late_col) or "").strip().casefold()
            if not flag:
                late = None
            elif flag in _TRUE:
                late = True
            elif flag in _FALSE:
                late = False
            else:
                raise IngestError(f"{path} line {n}: late must be true or false, not {flag!r}")
        when = SubmissionTime(timestamp, "lms" if timestamp else None, late)
        for col in id_cols:
            value = (row.get(col) or "").strip()
            if col.strip().casefold() == "identifier":  # Moodle: "Participant 1001"
                value = re.sub(r"^\D*", "", value)
            if value:
                by_lms[value] = when
        if sid_col and (row.get(sid_col) or "").strip():
            by_student[row[sid_col].strip()] = when
    return LmsTimes(by_lms, by_student)


def _distinct(base: str, who: Who) -> str:
    tail = who.lms_id or hashlib.sha256(who.identity.encode()).hexdigest()[:6]
    return f"{base[: 127 - len(tail)]}_{tail}"


def assign_ids(
    people: dict[str, Who],
    roster: Roster | None,
    id_from: str,
    known: dict,
    warnings: list[str],
) -> dict[str, tuple[str | None, str]]:
    """``identity -> (student id, why not)`` for every person of the export; no two people
    ever get the same id (compared without letter case: folders on macOS and Windows).

    ``known`` is the record's ``identities`` (identity -> {way of naming -> id an earlier
    ingest gave}; ``id_from`` is that way: "name", "lms-id" or "roster");
    problems that need a person are appended to ``warnings``."""
    out: dict[str, tuple[str | None, str]] = {}
    if roster is not None:
        matched: dict[str, list[tuple[str, bool]]] = {}
        for identity, who in people.items():
            sid, by_lms, why = roster.match(who)
            out[identity] = (sid, why)
            if sid:
                matched.setdefault(sid, []).append((identity, by_lms))
        for sid, claims in matched.items():
            if len(claims) == 1:
                continue
            certain = [i for i, by_lms in claims if by_lms]
            for identity, _ in claims:
                if len(certain) == 1 and identity == certain[0]:
                    continue
                other = ", ".join(people[i].label() for i, _ in claims if i != identity)
                out[identity] = (None, f"the roster cannot tell it from {other} (both {sid})")
            warnings.append(
                f"{len(claims)} LMS users match the roster's {sid}: "
                f"{', '.join(people[i].label() for i, _ in claims)}; add an lms_id column to "
                "the roster"
            )
        return out

    candidates: dict[str, str | None] = {}
    for identity, who in people.items():
        if id_from == "lms-id" and who.lms_id:
            candidates[identity] = who.lms_id if SAFE_ID.match(who.lms_id) else None
        else:
            candidates[identity] = name_id(who)
    # Ids given by earlier ingests stay; an id an earlier ingest gave to someone else is taken.
    earlier = {
        i: rec[id_from]
        for i, rec in known.items()
        if isinstance(rec, dict) and isinstance(rec.get(id_from), str) and rec[id_from]
    }
    owner = {sid.lower(): i for i, sid in earlier.items()}
    groups: dict[str, list[str]] = {}
    for identity, sid in candidates.items():
        if sid is None:
            out[identity] = (None, "no usable student id")
        elif identity in earlier:
            out[identity] = (earlier[identity], "")
        else:
            groups.setdefault(sid.lower(), []).append(identity)
    for key, identities in sorted(groups.items()):
        rival = owner.get(key)
        if len(identities) == 1 and rival in (None, identities[0]):
            out[identities[0]] = (candidates[identities[0]], "")
            continue
        given = []
        for identity in sorted(identities):
            sid = _distinct(candidates[identity], people[identity])
            out[identity] = (sid, "")
            given.append(f"{people[identity].label()} -> {sid}")
        before = f" (an earlier ingest gave it to {rival})" if rival else ""
        warnings.append(
            f"{candidates[identities[0]]!r} would be the id of different people{before}: "
            f"{'; '.join(given)}; check them (a roster with lms_id fixes the ids)"
        )
    # The safety net: an id made distinct may still equal someone's own id, in this export or
    # given by an earlier one to a person who is not in this export.
    seen = {sid.lower(): i for i, sid in earlier.items() if i not in people}
    for identity in sorted(out, key=lambda i: (i not in earlier, i)):
        sid, why = out[identity]
        if sid is None:
            continue
        base, k = sid, 2
        while sid.lower() in seen:
            sid, k = f"{base}_{k}", k + 1
        seen[sid.lower()] = identity
        if sid != out[identity][0]:
            warnings.append(f"{people[identity].label()} stored as {sid} (id taken)")
            out[identity] = (sid, why)
    return out
