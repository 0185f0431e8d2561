#!/usr/bin/env bash
# The Debian packages the isolation tests (packages/runtimeuse/test/release)
# need: bubblewrap, with tini as its init (as sandbox/Dockerfile does), and
# iproute2's `ip` for their network namespace. `npm test` runs this first (its
# pretest step): it installs what is missing when it can (root with apt-get),
# else it says what to install, and the isolation tests fail saying the same.
set -euo pipefail
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v ip >/dev/null || missing+=(iproute2)
[ -x /usr/bin/tini ] || missing+=(tini)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} for the isolation tests (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: the isolation tests need ${missing[*]} (Debian: apt-get install ${missing[*]}); they fail without" >&2
fi
