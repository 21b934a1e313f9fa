#!/bin/bash
# dracut module cairn-scan: scans the root filesystem with cairn-agent after it is
# mounted at $NEWROOT and before switch_root (a pre-pivot hook), submits the signed scan
# to the Cairn registry over the initramfs's network, and (with cairn.enforce=1 on the
# kernel command line) refuses the boot when the registry reports anomalies or cannot
# be reached. See cairn-scan.sh for the kernel command line it reads.
#
# Build-time settings (dracut.conf.d, see ../dracut.conf.d/90-cairn-scan.conf):
#   cairn_agent=PATH       the agent to install [/usr/local/bin/cairn-agent, else PATH's]
#   cairn_config_dir=DIR   the build host's directory holding agent.toml [/etc/cairn];
#                          installed at /etc/cairn in the initramfs, whatever DIR is.
#
# This file is sourced into dracut's own shell: helpers are prefixed _cairn_ so as not
# to clash with dracut's functions.

# The agent on the build host (a path as seen from --sysroot, if any), or nothing:
# cairn_agent if set (and then nothing else), else /usr/local/bin/cairn-agent, else the
# one on PATH (not when building for another --sysroot, whose PATH is not ours).
_cairn_agent() {
    local a
    if [[ -n $cairn_agent ]]; then
        [[ -x $dracutsysrootdir$cairn_agent ]] && echo "$cairn_agent"
        return
    fi
    a=/usr/local/bin/cairn-agent
    [[ -x $dracutsysrootdir$a ]] || { [[ -z $dracutsysrootdir ]] && a=$(command -v cairn-agent); } || return 1
    [[ -x $dracutsysrootdir$a ]] && echo "$a"
}

# The value of a top-level string setting of agent.toml ("key", "token"), or nothing.
# agent.toml has no tables; reading stops at the first [table] anyway.
_cairn_toml_string() {
    sed -n -e '/^[[:space:]]*\[/q' \
        -e "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*[\"']\([^\"']*\)[\"'].*/\1/p" "$2" | head -n 1
}

# called by dracut
check() {
    # Only when asked for (add_dracutmodules+=" cairn-scan ", or --add cairn-scan): the
    # module brings up the network in the initramfs and may refuse the boot, which no
    # host should get just because cairn-agent happens to be installed on it.
    return 255
}

# called by dracut
depends() {
    echo network
    return 0
}

# called by dracut
install() {
    local agent confdir conf name value src dst

    # An initramfs that was asked for the scan but silently lacks it would boot unchecked:
    # every missing piece aborts the build (as inst_hook itself does).
    if ! agent=$(_cairn_agent); then
        dfatal "cairn-scan: no cairn-agent at ${cairn_agent:-/usr/local/bin/cairn-agent nor on PATH}; set cairn_agent= in dracut.conf.d"
        exit 1
    fi
    inst_binary "$agent" /usr/bin/cairn-agent || {
        dfatal "cairn-scan: cannot install $agent"
        exit 1
    }

    confdir=${cairn_config_dir:-/etc/cairn}
    confdir=${confdir%/}
    conf=$confdir/agent.toml
    if [[ ! -f $dracutsysrootdir$conf ]]; then
        dfatal "cairn-scan: no $dracutsysrootdir$conf (set cairn_config_dir= in dracut.conf.d)"
        exit 1
    fi
    inst_simple "$conf" /etc/cairn/agent.toml || {
        dfatal "cairn-scan: cannot install $conf"
        exit 1
    }
    # The host key and the host token it names. A relative path is taken from the
    # configuration's directory, so it lands under /etc/cairn; an absolute one is read
    # at the same absolute path at boot, so it is installed there.
    for name in key token; do
        value=$(_cairn_toml_string "$name" "$dracutsysrootdir$conf")
        if [[ -z $value ]]; then
            dfatal "cairn-scan: $conf names no $name"
            exit 1
        fi
        if [[ $value == /* ]]; then
            src=$value
            dst=$value
        else
            src=$confdir/$value
            dst=/etc/cairn/$value
        fi
        if [[ ! -f $dracutsysrootdir$src ]]; then
            dfatal "cairn-scan: $conf names the $name $src, which is missing"
            exit 1
        fi
        inst_simple "$src" "$dst" || {
            dfatal "cairn-scan: cannot install $src"
            exit 1
        }
    done
    # The host key is a secret: keep it (and the token) unreadable to others in the image
    # too. (dracut writes the image itself with umask 077.)
    chmod 0600 "$initdir/etc/cairn/agent.toml" 2>/dev/null
    for name in key token; do
        value=$(_cairn_toml_string "$name" "$dracutsysrootdir$conf")
        [[ $value == /* ]] || value=/etc/cairn/$value
        chmod 0600 "$initdir$value" 2>/dev/null
    done

    # What the hook runs besides dracut-lib's getarg, getargbool, warn, info and die.
    inst_multiple mkdir
    inst_hook pre-pivot 90 "$moddir/cairn-scan.sh"
}
