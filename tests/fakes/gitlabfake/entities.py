"""JSON shapes of GitLab's API entities (lib/api/entities/*.rb), trimmed to
the fields a client plausibly reads, with GitLab's names and types."""

from urllib.parse import urlsplit


class Entities:
    def __init__(self, app):
        self.app = app

    @property
    def web(self):
        return self.app.web_url

    def user_basic(self, user=None):
        user = user or self.app.user
        return {"id": user["id"], "username": user["username"], "name": user["name"],
                "state": "active", "locked": False,
                "avatar_url": f"{self.web}/uploads/-/system/user/avatar/{user['id']}/avatar.png",
                "web_url": f"{self.web}/{user['username']}"}

    def user(self):
        user = self.app.user
        return dict(self.user_basic(), **{
            "created_at": "2024-01-15T10:00:00.000Z", "bio": "", "location": "",
            "public_email": None, "skype": "", "linkedin": "", "twitter": "", "discord": "",
            "website_url": "", "organization": "", "job_title": "", "pronouns": None,
            "bot": user["bot"], "work_information": None, "local_time": None,
            "last_sign_in_at": None, "confirmed_at": "2024-01-15T10:00:00.000Z",
            "last_activity_on": None, "email": user["email"], "theme_id": 1, "color_scheme_id": 1,
            "projects_limit": 0, "current_sign_in_at": None, "identities": [],
            "can_create_group": False, "can_create_project": False,
            "two_factor_enabled": False, "external": False, "private_profile": False,
            "commit_email": user["email"]})

    def token(self):
        app = self.app
        cfg = app.config
        return {"id": 42, "name": app.token_name, "revoked": cfg["token_state"] == "revoked",
                "created_at": "2024-01-15T10:00:00.000Z", "description": "deploybot",
                "scopes": list(cfg["scopes"]), "user_id": app.user["id"],
                "last_used_at": None, "active": cfg["token_state"] == "active",
                "expires_at": app.token_expires_at}

    def project(self, project, authenticated):
        ns_path = project.namespace
        web_url = project.web_url or f"{self.web}/{project.path_with_namespace}"
        host = urlsplit(self.web).hostname
        doc = {
            "id": project.id,
            "description": project.description,
            "name": project.path,
            "name_with_namespace": " / ".join(ns_path.split("/") + [project.path]),
            "path": project.path,
            "path_with_namespace": project.path_with_namespace,
            "created_at": project.created_at,
            "default_branch": project.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": project.ssh_url_to_repo or f"git@{host}:{project.path_with_namespace}.git",
            "http_url_to_repo": project.http_url_to_repo or f"{web_url}.git",
            "web_url": web_url,
            "readme_url": None,
            "forks_count": 0,
            "avatar_url": None,
            "star_count": 0,
            "last_activity_at": project.created_at,
            "namespace": {"id": 100 + project.id, "name": ns_path.rsplit("/", 1)[-1],
                          "path": ns_path.rsplit("/", 1)[-1], "kind": "group",
                          "full_path": ns_path, "parent_id": None, "avatar_url": None,
                          "web_url": f"{self.web}/groups/{ns_path}"},
            "visibility": project.visibility,
            "archived": project.archived,
            "empty_repo": False,
        }
        if authenticated:
            doc["permissions"] = {"project_access": {"access_level": self.app.access_level,
                                                     "notification_level": 3},
                                  "group_access": None}
        return doc

    def commit_status(self, job):
        return {key: job[key] for key in (
            "id", "sha", "ref", "status", "name", "target_url", "description", "created_at",
            "started_at", "finished_at", "allow_failure", "coverage", "pipeline_id")} | {
            "author": self.user_basic(job["author"])}

    def note(self, note):
        return {"id": note["id"], "type": None, "body": note["body"], "attachment": None,
                "author": self.user_basic(note["author"]), "created_at": note["created_at"],
                "updated_at": note["updated_at"], "system": False,
                "noteable_id": note["noteable_id"], "noteable_type": note["noteable_type"],
                "project_id": note["project_id"], "resolvable": False, "confidential": False,
                "internal": note["internal"], "imported": False, "imported_from": "none",
                "noteable_iid": note["noteable_iid"], "commands_changes": {}}

    def commit_note(self, note):
        # Entities::CommitNote: path/line/line_type only for a diff note; the
        # fake has no diffs, so every commit comment is a plain note.
        return {"note": note["body"], "path": None, "line": None, "line_type": None,
                "author": self.user_basic(note["author"]), "created_at": note["created_at"]}
