# Helpers of the corpus scripts (make-corpus.sh, diff/, vmcore/). Sourced, not run.
# `want NAME`: true when NAME is selected (no --only given, or one of $ONLY).
# `show ARGS...`: a command line for a manifest, the work dir written as $WORK.
want() {
    [ ${#ONLY[@]} -eq 0 ] && return 0
    local n; for n in "${ONLY[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

# pretty command line for the manifest (work dir paths shown as $WORK)
show() {
    local a out=""
    for a in "$@"; do
        a=${a//$WORK/\$WORK}
        case "$a" in *[\ \"\'\>\<\|\;\&\$\*]*) out+=" '$a'" ;; *) out+=" $a" ;; esac
    done
    printf '%s' "${out# }"
}
