/* github: GitHub's host_ops (host/host.h). */
#ifndef DEPLOYBOT_HOST_GITHUB_H
#define DEPLOYBOT_HOST_GITHUB_H

#include "host/host.h"

extern const host_ops host_github;

#endif
