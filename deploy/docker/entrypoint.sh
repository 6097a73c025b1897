#!/bin/sh
# The image's entrypoint: the first argument names what to run, the rest is passed on.
# `exec` makes the service itself PID 1's child-free replacement, so SIGTERM from the
# runtime reaches it directly (each service stops gracefully within 15 s).
set -eu

usage() {
    cat <<'USAGE'
usage: <image> COMMAND [ARGS...]
  dispatch | units | incidents | edge   run that service (python -m services.<name>)
  migrate                               bring every store's schema up to date, then exit
  uc ARGS...                            the uc command line (python -m services.cli)
  healthcheck TARGET [SERVICE]          exit 0 when TARGET is healthy (compose healthcheck)
USAGE
}

if [ "$#" -eq 0 ]; then
    usage >&2
    exit 64
fi
command="$1"
shift
case "$command" in
    dispatch | units | incidents | edge)
        exec python -m "services.$command" "$@"
        ;;
    migrate)
        exec python -m services.cli migrate "$@"
        ;;
    uc)
        exec python -m services.cli "$@"
        ;;
    healthcheck)
        exec python -m services.common.healthcheck "$@"
        ;;
    help | -h | --help)
        usage
        ;;
    *)
        echo "unknown command: $command" >&2
        usage >&2
        exit 64
        ;;
esac
