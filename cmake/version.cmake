# Writes OUT, the definitions of bot/version.h, from VERSION and the git
# commit of SOURCE_DIR. Run at every build (CMakeLists.txt), so a commit
# made after configuring is still the one reported; OUT is only rewritten
# when its text changes, so an unchanged tree rebuilds nothing.
#   cmake -DSOURCE_DIR=... -DVERSION=... -DOUT=... -P version.cmake
set(commit "unknown")
# Only the tree's own .git: a tarball unpacked inside another repository
# must not report that repository's commit.
if(EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
    OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND head MATCHES "^[0-9a-f]+$")
    set(commit "${head}")
    # status, not diff-index: it looks past files only touched since the index.
    execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
      OUTPUT_VARIABLE changed RESULT_VARIABLE rc ERROR_QUIET)
    if(NOT rc EQUAL 0 OR NOT changed STREQUAL "")
      set(commit "${commit}-dirty")
    endif()
  endif()
endif()
file(WRITE "${OUT}.tmp" "/* Written by cmake/version.cmake at build time: see bot/version.h. */
#include \"bot/version.h\"

const char *version_number(void) { return \"${VERSION}\"; }
const char *version_commit(void) { return \"${commit}\"; }
")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
file(REMOVE "${OUT}.tmp")
