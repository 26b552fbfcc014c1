"""Gitea's and Forgejo's error bodies (services/context/api.go, routers/api/v1/api.go).

- APIError: {"message": "...", "url": "<AppURL>api/swagger"}; a 500 hides its
  message ("") in production unless the caller is a site admin.
- NotFound: Gitea 1.24 and later {"message": "not found", "url": ...}; older
  Gitea and Forgejo {"errors": [...] or null, "message": "The target couldn't
  be found.", "url": ...} (the version boundary is a best reading of the sources).
- reqToken: 401 {"message": "token is required", ...}.
- tokenRequiresScopes: 403 "token does not have at least one of required scope(s): [write:repository]".
- reqRepoWriter: 403 "user should have a permission to write to a repo".
- binding (bind()): 422 "[Field]: Required" and the like.
- editIssueComment/deleteIssueComment: 403 and 404 with an empty body
  (ctx.Status) for someone else's comment / a comment of another repository.
"""

from fakecommon.restfake import ApiError


class GiteaErrors:
    def __init__(self, app):
        self.app = app

    @property
    def swagger(self):
        return self.app.base_url + "/api/swagger"

    def error(self, status, message):
        return ApiError(status, {"message": message, "url": self.swagger})

    def internal(self):
        return self.error(500, "")

    def not_found(self, errors=None):
        if self.app.new_not_found:
            return ApiError(404, {"message": "not found", "url": self.swagger})
        return ApiError(404, {"errors": errors, "message": "The target couldn't be found.",
                              "url": self.swagger})

    def token_required(self):
        return self.error(401, "token is required")

    def missing_scope(self, scope):
        return self.error(403, f"token does not have at least one of required scope(s): [{scope}]")

    def not_writer(self):
        return self.error(403, "user should have a permission to write to a repo")

    def validation(self, field, rule):
        return self.error(422, f"[{field}]: {rule}")

    @staticmethod
    def bare(status):
        return ApiError(status, None)
