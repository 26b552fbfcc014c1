"""GitLab's error bodies, as REST API v4 returns them.

Sources (stored copies of gitlabhq/gitlabhq):
- lib/api/helpers.rb: not_found!(resource) -> {"message": "404 <resource> Not Found"},
  bad_request!(reason) -> {"message": "400 Bad request - <reason>"},
  unauthorized! -> {"message": "401 Unauthorized"}, forbidden! -> {"message": "403 Forbidden"};
  render_api_error!(msg, status) -> {"message": msg}.
- lib/api/api.rb: ActiveRecord::RecordNotFound -> {"message": "404 Not found"} (lower-case f);
  an unknown route -> {"error": "404 Not Found"}; Grape parameter validation ->
  {"error": "<param> is missing"} / "<param> does not have a valid value" / "<param> is empty",
  several joined with ", ".
- lib/gitlab/auth (APIGuard): an expired or revoked token -> 401
  {"error": "invalid_token", "error_description": "Token has expired." | "Token has been revoked."};
  a token without the scope -> 403 {"error": "insufficient_scope", "error_description":
  "The request requires higher privileges than provided by the access token.", "scope": "api read_api"}.
- app/services/ci/create_commit_status_service.rb and the state machine in
  app/models/commit_status.rb: "Cannot transition status via :<event> from :<state>
  (Reason(s): Status cannot transition via \"<event>\")", "404 References for commit Not Found".
- lib/api/helpers/notes_helpers.rb: a note that fails validation ->
  bad_request!("Note #{note.errors.messages}") (a Ruby Hash#inspect, Ruby 3.3 style).
"""

from fakecommon.restfake import ApiError


def error(status, message):
    return ApiError(status, {"message": message})


def not_found(resource=None):
    return error(404, f"404 {resource} Not Found" if resource else "404 Not Found")


def record_not_found():
    return error(404, "404 Not found")


def route_not_found():
    return ApiError(404, {"error": "404 Not Found"})


def unauthorized():
    return error(401, "401 Unauthorized")


def forbidden():
    return error(403, "403 Forbidden")


def bad_request(reason=None):
    return error(400, "400 Bad request" + (f" - {reason}" if reason else ""))


def param_errors(messages):
    """Grape's validation failure: every message, joined."""
    return ApiError(400, {"error": ", ".join(messages)})


def invalid_token(description):
    return ApiError(401, {"error": "invalid_token", "error_description": description},
                    {"WWW-Authenticate": f'Bearer realm="Protected by OAuth 2.0", '
                                         f'error="invalid_token", error_description="{description}"'})


def insufficient_scope(scopes):
    return ApiError(403, {"error": "insufficient_scope",
                          "error_description": "The request requires higher privileges than "
                                               "provided by the access token.",
                          "scope": " ".join(scopes)})


def cannot_transition(event, state):
    return error(400, f"Cannot transition status via :{event} from :{state} "
                      f"(Reason(s): Status cannot transition via \"{event}\")")


def ruby_errors(errors):
    """ActiveModel errors.messages as Ruby 3.3's Hash#inspect prints it."""
    parts = []
    for field, messages in errors.items():
        quoted = ", ".join('"' + m.replace("\\", "\\\\").replace('"', '\\"') + '"' for m in messages)
        parts.append(f":{field}=>[{quoted}]")
    return "{" + ", ".join(parts) + "}"


def model_invalid(errors):
    """A commit status that fails its model validations (render_validation_error
    style: the errors hash itself under "message")."""
    return ApiError(400, {"message": errors})
