"""GitHub's error bodies, as the REST API returns them.

Sources: /work/shared/fixtures/webhooks/NOTES.md §5 (observed 422 bodies for
over-long descriptions, contexts and comment bodies) and GitHub's REST docs.
Messages for schema violations ("Invalid request. ...") follow the form
GitHub uses for JSON-schema failures; their exact wording is not documented.
"""

DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found():
    return GitHubError(404, {"message": "Not Found", "documentation_url": DOCS})


def bad_credentials():
    return GitHubError(401, {"message": "Bad credentials", "documentation_url": DOCS})


def requires_authentication():
    return GitHubError(401, {"message": "Requires authentication", "documentation_url": DOCS})


def problems_parsing_json():
    return GitHubError(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})


def invalid_request(detail):
    """A request that fails the endpoint's JSON schema (missing or mistyped field)."""
    return GitHubError(422, {"message": f"Invalid request.\n\n{detail}", "documentation_url": DOCS})


def validation_failed(resource, field, message, code="custom", docs=DOCS):
    """A request that passes the schema but fails a model rule (lengths, limits)."""
    error = {"resource": resource, "code": code, "field": field, "message": message}
    if field is None:
        del error["field"]
    return GitHubError(422, {"message": "Validation Failed", "errors": [error],
                             "documentation_url": docs})


def no_commit(sha):
    return GitHubError(422, {"message": f"No commit found for SHA: {sha}", "documentation_url": DOCS})


def not_accessible():
    """A token that may see the repository but lacks the permission the call needs."""
    return GitHubError(403, {"message": "Resource not accessible by personal access token",
                             "documentation_url": DOCS, "status": "403"})
