/* gitlab: GitLab's host_ops (host/host.h), gitlab.com and self-managed. */
#ifndef DEPLOYBOT_HOST_GITLAB_H
#define DEPLOYBOT_HOST_GITLAB_H

#include "host/host.h"

extern const host_ops host_gitlab;

#endif
