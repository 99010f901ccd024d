"""The ops API's tenant checks: the scope of the operator who calls, and what it sees.

What is out of an operator's scope answers exactly as what does not exist (404, the same
detail), so an operator of one state cannot even learn that another state's submission
exists. The platform operator (scope ``*``) is never checked, and nothing extra is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from uuid import UUID

from events.ledger import Ledger, SubmissionNotFoundError
from services.intake.errors import ProblemError
from services.ops.actions.dead_letters import DeadLetter
from services.ops.readmodels.overview.rows import Filters
from services.ops.tenants.scope import OperatorScope, ScopeMissingError
from services.ops.tenants.view import TenantView


class Scoping:
    """Scopes and visibility for the ops routes."""

    def __init__(self, tenants: TenantView, ledger: Ledger) -> None:
        self.tenants = tenants
        self._ledger = ledger

    def scope(self, operator: str) -> OperatorScope:
        """The operator's scope; a 403 problem naming the setting when it has none."""
        try:
            return self.tenants.scope(operator)
        except ScopeMissingError as error:
            raise ProblemError.single(403, "no-scope", "No scope", str(error)) from None

    def filters(self, scope: OperatorScope, filters: Filters) -> Filters:
        """``filters`` narrowed to the scope's tenants."""
        among = self.tenants.among(scope)
        return filters if among is None else dataclasses.replace(filters, among=among)

    def sees_submission(self, scope: OperatorScope, submission_id: UUID) -> bool:
        """Whether the submission exists and is in scope (unknown: False)."""
        if scope.everything:
            return True
        try:
            submission = self._ledger.get_submission(submission_id)
        except SubmissionNotFoundError:
            return False
        return self.tenants.sees(scope, submission.portal_id, submission.authority_id)

    def require(self, scope: OperatorScope, submission_id: UUID) -> None:
        """``SubmissionNotFoundError`` unless the scope sees the submission."""
        if not self.sees_submission(scope, submission_id):
            raise SubmissionNotFoundError(submission_id)

    def sees_letter(self, scope: OperatorScope, letter: DeadLetter) -> bool:
        """Whether a dead letter is in scope: by its submission, else by its portal and
        authority (an intake letter of an unknown portal is the platform operator's)."""
        if scope.everything:
            return True
        if letter.submission_id is not None:
            return self.sees_submission(scope, UUID(letter.submission_id))
        return self.tenants.sees(scope, letter.portal_id, letter.authority_id)

    def keep(self, scope: OperatorScope) -> Callable[[str | None, str | None], bool]:
        """A test of (portal id, authority id) for lists built outside the overview."""
        return lambda portal, authority: self.tenants.sees(scope, portal, authority)
