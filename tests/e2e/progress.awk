# ginkgo -v output (tests/e2e/run.sh) -> one line per finished test:
#   [N] passed|FAILED|... SECONDS s  TEST NAME
# With parallel processes each finished test is one block: a delimiter line, a header
# ("• [12.3 seconds]", "• [FAILED] [12.3 seconds]", "S [SKIPPED] ...", "[SynchronizedBeforeSuite]
# PASSED ..."), then the test's full name. A single process streams instead: the delimiter, the
# name, the test's steps, then the header.
function report(hdr, name,    status, secs, w) {
	status = "passed"
	if (hdr ~ /^S /) status = "skipped"
	else if (hdr ~ /^P /) status = "pending"
	else if (match(hdr, /\[(FAILED|PANICKED|TIMEDOUT|INTERRUPTED|ABORTED)\]/)) status = substr(hdr, RSTART + 1, RLENGTH - 2)
	secs = "-"
	if (match(hdr, /\[[0-9.]+ seconds\]/)) secs = sprintf("%.0f", substr(hdr, RSTART + 1, RLENGTH - 10))
	if (hdr ~ /^\[/) {
		# the suite's own setup and teardown: only worth a line when they fail
		if (status == "passed") return
		split(hdr, w, " ")
		name = w[1]
	}
	n++
	printf "[%d] %-7s %5s s  %s\n", n, status, secs, name
	fflush()
}
function is_header(l) {
	return l ~ /^(• \[|S \[|P \[|\[SynchronizedBeforeSuite\] |\[SynchronizedAfterSuite\] |\[ReportAfterSuite\] |\[ReportBeforeSuite\] )/
}
/^------------------------------$/ { delim = 1; next }
delim == 1 {
	delim = 0
	if (is_header($0)) { hdr = $0; want = 1 } else if ($0 != "") { last = $0 }
	next
}
want == 1 { want = 0; report(hdr, $0); next }
is_header($0) && last != "" { report($0, last); last = ""; next }
