#!/bin/sh
# The entry point of every SkinGuard image: the image's script (build arg SCRIPT) with the
# container's arguments, or the image's default ones (DEFAULT_ARGS, "serve" for HTTP services).
set -e
if [ "$#" -eq 0 ] && [ -n "$SKINGUARD_DEFAULT_ARGS" ]; then
    # shellcheck disable=SC2086  # default arguments are words
    set -- $SKINGUARD_DEFAULT_ARGS
fi
exec "$SKINGUARD_SCRIPT" "$@"
