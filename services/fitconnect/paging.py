"""The Submission API's paging parameters: ``limit`` 1…500, ``offset`` a non-negative int32."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1
"""The largest ``offset`` the specification's ``format: int32`` allows; more is a 400."""

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
