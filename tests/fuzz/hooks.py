"""Schemathesis hooks for the fuzz run: every answered request is appended to the file that
``MUSEWAVE_FUZZ_TALLY`` names, as ``<status> <method> <path template>``, so the test can count
requests and statuses without the (much larger) NDJSON or HAR reports.

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS``; not a test module.
"""

from __future__ import annotations

import os

import schemathesis
from schemathesis import Case, HookContext, Response


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Response) -> None:
    line = f"{response.status_code} {case.method.upper()} {case.path}\n"
    with open(os.environ["MUSEWAVE_FUZZ_TALLY"], "a", encoding="utf-8") as tally:
        tally.write(line)
