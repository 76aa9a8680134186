#!/usr/bin/env bash
# The node conformance scenarios (tests/conformance/, docs/conformance.md) in static-pod mode,
# without the slow ones, as part of `make test`. The runner's last line is the summary.
set -u
NODELET=${NODELET:-build/nodelet}
cd "$(dirname "$0")/../.."
out=$(mktemp -d /tmp/nodelet-conformance-reports-XXXXXX)
trap 'rm -rf "$out"' EXIT
NODELET=$NODELET tests/conformance/run.sh --skip-slow --junit "$out/junit.xml" --markdown "$out/report.md"
rc=$?
if [ $rc -eq 77 ]; then
        echo "conformance: 0 passed, 0 failed"
        exit 0
fi
exit $rc
