# Turns `strace -f -ttt` output (execve, clone*, fork, rename*) of the daemon into a timeline of
# the processes it starts between times a and b (epoch seconds, -v a=... -v b=...):
#   +ms  dur-ms  what
# one line per process that the daemon forks or that execs something (threads skipped), indented
# by depth below the daemon (-v daemon=PID), and one per pod.json write of the daemon.
# Used by bench/profile.sh.
function label(pid,    s, i, n, a, args, name, verb) {
        if (!(pid in argv))
                return (parent[pid] == daemon ? "daemon child (no exec)" : "child of " lab[parent[pid]] " (no exec)")
        s = argv[pid]
        n = split(s, a, /", "/)
        for (i = 1; i <= n; i++) { gsub(/^"|"$/, "", a[i]) }
        name = a[1]; sub(/.*\//, "", name)
        if (name == "exe") name = "(re-exec of self)"
        verb = ""
        for (i = 2; i <= n; i++)
                if (a[i] ~ /^(create|start|kill|delete|state|run|exec|init|features)$/) { verb = " " a[i]; break }
        if (name == "nodelet-shim") return "nodelet-shim (monitor; runs the runtime's create)"
        if (name ~ /^(sh|sleep|httpd)$/ || a[1] ~ /^(sh|sleep)$/)
                return "container init (forked by the runtime's create, runs the command at start)"
        return name verb
}
function depth(pid,    d) {
        d = 0
        while (pid in parent && pid != daemon && d < 10) { pid = parent[pid]; d++ }
        return d
}
{
        pid = $1; t = $2 + 0
        if ($3 ~ /^\+\+\+/) { end[pid] = t; next }
        line = $0
        if (line ~ /CLONE_THREAD/) next
        if (line ~ /(clone|clone3|fork|vfork)\(/ || line ~ /<\.\.\. (clone|clone3|fork|vfork) resumed>/) {
                if (match(line, /= [0-9]+$/)) {
                        child = substr(line, RSTART + 2) + 0
                        if (child > 0) { parent[child] = pid; born[child] = t; order[++nproc] = child }
                }
                next
        }
        if (line ~ /execve\(/ && !(pid in argv)) {
                i = index(line, "[")
                rest = substr(line, i + 1)
                j = index(rest, "], ")
                pend[pid] = substr(rest, 1, j - 1)
                if (line !~ /= 0$/) next # failed, or <unfinished ...>: wait for "resumed"
        }
        if ((line ~ /execve\(/ || line ~ /<\.\.\. execve resumed>/) && line ~ /= 0$/ && (pid in pend) && !(pid in argv)) {
                argv[pid] = pend[pid]
                if (!(pid in born)) { born[pid] = t; order[++nproc] = pid }
                next
        }
        if (pid == daemon && line ~ /rename/ && line ~ /pod\.json"/ && line ~ /= 0$/ && t >= a && t <= b)
                writes[++nw] = t
}
END {
        for (k = 1; k <= nproc; k++) {
                p = order[k]
                lab[p] = label(p)
        }
        n = 0
        for (k = 1; k <= nproc; k++) {
                p = order[k]
                if (born[p] < a || born[p] > b) continue
                if (!(p in argv) && parent[p] != daemon) continue
                # the container's own children (pids inside its namespace are not mapped): its
                # first process is enough
                if (lab[p] ~ /^container process/ && seen_ctr++) continue
                ind = ""
                for (d = 1; d < depth(p); d++) ind = ind "  "
                dur = (p in end) ? sprintf("%8.1f", (end[p] - born[p]) * 1000) : "     ..."
                out[++n] = sprintf("%8.1f %s  %s%s", (born[p] - a) * 1000, dur, ind, lab[p])
                key[n] = born[p]
        }
        for (k = 1; k <= nw; k++) {
                out[++n] = sprintf("%8.1f %8s  %s", (writes[k] - a) * 1000, "", "daemon writes pod.json (status)")
                key[n] = writes[k]
        }
        # insertion sort by time
        for (i = 2; i <= n; i++) {
                o = out[i]; kk = key[i]
                for (j = i - 1; j >= 1 && key[j] > kk; j--) { out[j + 1] = out[j]; key[j + 1] = key[j] }
                out[j + 1] = o; key[j + 1] = kk
        }
        for (i = 1; i <= n; i++) print out[i]
}
