#!/bin/sh
# cairn-scan pre-pivot hook: the root filesystem is mounted at $NEWROOT (/sysroot) and
# the network is up; scan it with cairn-agent, submit the signed scan, and decide
# whether the boot goes on. dracut's init sources this file: no `exit` here.
#
# Kernel command line:
#   cairn.registry=URL   the registry (overrides agent.toml's registry)
#   cairn.host=NAME      this host's enrolled name (overrides agent.toml's host)
#   cairn.enforce=0|1    1: refuse the boot on anomalies, or when the scan could not be
#                        submitted and proven logged before the deadline [0]
#   cairn.deadline=SECS  how long the registry has to take the scan [30]
# Networking comes from dracut's network module: add e.g. `rd.neednet=1 ip=dhcp`.
#
# cairn-agent exits 0 (go on), 1 (enforce is on and the boot must stop), or 2 (the agent
# itself failed). Without enforce, this hook never stops the boot; a failed scan stays
# spooled in /run/cairn-scan, which the booted system's cairn-scan-flush.service submits.

type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh

_cairn_refuse() {
    # Unmistakable on the console and in the kernel log, then dracut's die: with rd.shell
    # an emergency shell, otherwise no boot (rd.emergency=poweroff|reboot|halt decides).
    echo "cairn: boot refused: $*" > /dev/kmsg 2> /dev/null
    echo "cairn: boot refused: $*" >&2
    die "cairn: boot refused: $*"
}

_cairn_scan() {
    local registry host deadline enforce rc
    set --

    registry=$(getarg cairn.registry=)
    host=$(getarg cairn.host=)
    deadline=$(getarg cairn.deadline=)
    case "$deadline" in
        '') deadline=30 ;;
        *[!0-9]*)
            warn "cairn: cairn.deadline=$deadline is no number of seconds; using 30"
            deadline=30
            ;;
    esac
    enforce=0
    getargbool 0 cairn.enforce && enforce=1

    set -- boot --config /etc/cairn/agent.toml --root "${NEWROOT:-/sysroot}" \
        --spool /run/cairn-scan --deadline "$deadline"
    [ -n "$registry" ] && set -- "$@" --registry "$registry"
    [ -n "$host" ] && set -- "$@" --host "$host"
    [ "$enforce" = 1 ] && set -- "$@" --enforce

    mkdir -p /run/cairn-scan
    info "cairn: scanning ${NEWROOT:-/sysroot} (enforce=$enforce, deadline ${deadline}s)"
    /usr/bin/cairn-agent "$@"
    rc=$?

    case "$rc" in
        0)
            info "cairn: boot scan done"
            ;;
        1)
            if [ "$enforce" = 1 ]; then
                _cairn_refuse "anomalies against the baseline, or no proven submission to the registry within ${deadline}s"
            else
                warn "cairn: scan failed (cairn-agent exited 1 without enforce); the boot goes on"
            fi
            ;;
        *)
            if [ "$enforce" = 1 ]; then
                _cairn_refuse "cairn-agent failed (exit status $rc)"
            else
                warn "cairn: scan failed (cairn-agent exit status $rc); the boot goes on unchecked"
            fi
            ;;
    esac
}

_cairn_scan
unset -f _cairn_scan _cairn_refuse
