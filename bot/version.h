/* version: what this binary is, baked in at build time (cmake/version.cmake
 * writes version.c into the build directory at every build). */
#ifndef DEPLOYBOT_BOT_VERSION_H
#define DEPLOYBOT_BOT_VERSION_H

/* The release, the project's VERSION in CMakeLists.txt ("0.1.0"). */
const char *version_number(void);
/* The git commit built, 12 hex digits, "-dirty" after it when tracked files
 * differed from it; "unknown" for a tree without .git (a tarball). */
const char *version_commit(void);

#endif
