#!/usr/bin/env bash
# Static mode runs what people keep as Kubernetes YAML (issue 22): a manifest file holds any
# kinds; ConfigMaps and Secrets feed the static pods' volumes, env and envFrom; kinds nodelet
# does not run are skipped with one warning each. Real containers, the daemon as users run it.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=bundles BRIDGE=nlbndl SUBNET=10.99.28.0/24
. "$(dirname "$0")/lib/node.sh"

RUNNING='.status.phase == "Running" and ([.status.containerStatuses[].state.running] | all)'
in_pod() { "$NODELET" exec "$1-$NODE" "${ARGS[@]}" -- "${@:2}" 2>&1; }
expect_eq() { # DESCRIPTION GOT WANT
        if [ "$2" = "$3" ]; then ok; else bad "$1: got [$2], want [$3]"; fi
}
eventually() { # DESCRIPTION TIMEOUT WANT CMD... : CMD's output becomes WANT
        local desc=$1 timeout=$2 want=$3 got=; shift 3
        for _ in $(seq $((timeout * 2))); do
                got=$("$@" 2>&1)
                [ "$got" = "$want" ] && { ok; return 0; }
                sleep 0.5
        done
        bad "$desc: got [$got], want [$want]"
        return 1
}

config() { # GREETING
        cat <<Y
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  greeting: $1
  app.conf: |
    mode=$1
Y
}
app() { # GREETING
        config "$1"
        cat <<'Y'
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
type: Opaque
stringData: {password: s3cret}
data: {token: dG9rZW4tdmFsdWU=}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.35
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}
    - name: MAYBE
      valueFrom: {configMapKeyRef: {name: no-such-config, key: x, optional: true}}
    envFrom:
    - secretRef: {name: app-secret}
      prefix: SECRET_
    volumeMounts:
    - {name: config, mountPath: /etc/app}
    - {name: secret, mountPath: /etc/secret}
    - {name: both, mountPath: /etc/both}
  volumes:
  - name: config
    configMap: {name: app-config}
  - name: secret
    secret: {secretName: app-secret, defaultMode: 0400}
  - name: both
    projected:
      sources:
      - configMap: {name: app-config, items: [{key: greeting, path: greeting}]}
      - secret: {name: app-secret, items: [{key: password, path: pw}]}
Y
}

app hello >"$M/app.yaml"
cat >"$M/missing.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: needs-config}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    env:
    - name: LATE
      valueFrom: {configMapKeyRef: {name: late-config, key: value}}
Y
# --manifest-url: a manifest served over HTTP (with the header it requires), fetched every 2 s
PORT=$(shuf -i 20000-60000 -n 1)
mkdir -p "$T/served"
cat >"$T/served/remote.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: remote-config}
data: {from: the-url}
---
apiVersion: v1
kind: Pod
metadata: {name: remote}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    env: [{name: FROM, valueFrom: {configMapKeyRef: {name: remote-config, key: from}}}]
Y
socat TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr SYSTEM:"tests/agent/lib/serve-manifest.sh $T/served/remote.yaml s3cret" 2>/dev/null &
SOCAT_PID=$!
EXTRA_ARGS=(--manifest-url "http://127.0.0.1:$PORT/remote.yaml" --manifest-url-header "X-Token:s3cret"
            --file-check-frequency 2s)
start_daemon

# ---- a ConfigMap and a Secret beside the Pod: volumes, env, envFrom, projected ------------
check "web runs with its ConfigMap and Secret" web 90 "$RUNNING"
expect_eq "configMap volume" "$(in_pod web cat /etc/app/greeting /etc/app/app.conf)" "hellomode=hello"
expect_eq "env from configMapKeyRef" "$(in_pod web sh -c 'echo $GREETING')" "hello"
expect_eq "an optional missing ConfigMap is no env" "$(in_pod web sh -c 'echo ${MAYBE-unset}')" "unset"
expect_eq "envFrom a Secret (stringData and data)" "$(in_pod web sh -c 'echo $SECRET_password $SECRET_token')" \
        "s3cret token-value"
expect_eq "secret volume" "$(in_pod web cat /etc/secret/password /etc/secret/token)" "s3crettoken-value"
expect_eq "secret volume mode" "$(in_pod web stat -L -c %a /etc/secret/password)" "400"
expect_eq "projected ConfigMap and Secret" "$(in_pod web cat /etc/both/greeting /etc/both/pw)" "hellos3cret"

# ---- --manifest-url: the same kinds from a URL, with its header -----------------------------
check "the pod from --manifest-url runs" remote 90 "$RUNNING"
expect_eq "with the URL's ConfigMap" "$(in_pod remote sh -c 'echo $FROM')" "the-url"
sed -i 's/name: remote}/name: remote2}/' "$T/served/remote.yaml"
check "an edit at the URL is fetched again: the new pod" remote2 60 "$RUNNING"
eventually "and the old one goes" 60 "" sh -c "\"$NODELET\" get pod remote-$NODE ${ARGS[*]} -o json 2>/dev/null | jq -r .metadata.name"

# ---- kinds nodelet does not run: one warning each, the file still runs ---------------------
n=$(grep -c 'skipped Service "web" (v1): static mode runs no such kind' "$T/daemon.log")
expect_eq "one warning for the Service" "$n" "1"
n=$(grep -c 'skipped ServiceAccount "web" (v1)' "$T/daemon.log")
expect_eq "one warning for the ServiceAccount" "$n" "1"
grep -q "could not process manifest file $M/app.yaml" "$T/daemon.log" && bad "app.yaml was an error" || ok

# ---- a missing ConfigMap: CreateContainerConfigError as the kubelet's, until it comes -------
check "a missing ConfigMap is CreateContainerConfigError" needs-config 60 \
        '.status.containerStatuses[0].state.waiting.reason == "CreateContainerConfigError" and .status.containerStatuses[0].state.waiting.message == "configmap \"late-config\" not found"'
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late-config}\ndata: {value: arrived}\n' >"$M/late.yaml"
check "the ConfigMap arrives: the container starts" needs-config 60 "$RUNNING"
expect_eq "env from the late ConfigMap" "$(in_pod needs-config sh -c 'echo $LATE')" "arrived"

# ---- an edited ConfigMap reaches the mounted files (atomic writer), the pod stays -----------
uid=$(pod_json web | jq -r .metadata.uid)
cid=$(pod_json web | jq -r '.status.containerStatuses[0].containerID')
app bonjour >"$M/.app.yaml.tmp" && mv "$M/.app.yaml.tmp" "$M/app.yaml"
eventually "the edited ConfigMap in the volume" 60 "bonjourmode=bonjour" \
        in_pod web cat /etc/app/greeting /etc/app/app.conf
eventually "the edited ConfigMap in the projected volume" 30 "bonjour" in_pod web cat /etc/both/greeting
check "the pod is the same, its container not restarted" web 5 \
        ".metadata.uid == \"$uid\" and .status.containerStatuses[0].containerID == \"$cid\" and .status.containerStatuses[0].restartCount == 0"
expect_eq "env is as the container started" "$(in_pod web sh -c 'echo $GREETING')" "hello"
n=$(grep -c 'skipped Service "web" (v1)' "$T/daemon.log")
expect_eq "the Service's warning is not repeated for the ConfigMap's edit" "$n" "1"

# ---- workloads: a Deployment of 2, a Job's completions, a StatefulSet with a claim -----------
workloads() { # DEPLOYMENT-GREETING
        cat <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: front}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: front}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: front
        image: busybox:1.35
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'echo $1 > /tmp/greeting; touch /tmp/ready; exec sleep 3600', sh, '$1']
        readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
---
apiVersion: batch/v1
kind: Job
metadata: {name: count}
spec:
  completions: 3
  parallelism: 1
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: busybox:1.35, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo done']}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: busybox:1.35
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'hostname >> /data/boots; exec sleep 3600']
        env: [{name: V, value: $1}]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
Y
}
workloads hello >"$M/workloads.yaml"
wl() { # KIND NAME JQ -> from <root>/workloads.json
        jq -r ".[] | select(.kind == \"$1\" and .name == \"$2\") | $3" "$T/root/workloads.json" 2>/dev/null
}
pods_of() { # WORKLOAD-ANNOTATION -> "name phase" of its pods, sorted
        "$NODELET" pods "${ARGS[@]}" -o json 2>/dev/null |
                jq -r ".items[] | select(.metadata.annotations[\"nodelet.io/workload\"] == \"$1\") | .metadata.name + \" \" + .status.phase" | sort
}
eventually "a Deployment of 2: 2 ready" 120 "2 2" wl Deployment front '"\(.status.readyReplicas) \(.status.replicas)"'
hash=$(wl Deployment front '.pods[0].hash')
eventually "the Deployment's pods are named <name>-<hash>-<n>-<node>" 10 "front-$hash-0-$NODE Running
front-$hash-1-$NODE Running" pods_of Deployment/front
eventually "the Job completes its 3 completions one at a time" 120 "3 0 Complete" wl Job count '"\(.status.succeeded) \(.status.failed) \(.status.condition)"'
eventually "the Job's pods are kept Succeeded" 10 "count-0-$NODE Succeeded
count-1-$NODE Succeeded
count-2-$NODE Succeeded" pods_of Job/count
eventually "the StatefulSet's pods run in order" 120 "db-0-$NODE Running
db-1-$NODE Running" pods_of StatefulSet/db
s0=$(pod_json db-0 | jq -r '.status.startTime'); s1=$(pod_json db-1 | jq -r '.status.startTime')
[[ "$s0" < "$s1" || "$s0" == "$s1" ]] && ok || bad "db-0 started after db-1 ($s0, $s1)"
expect_eq "a StatefulSet pod's hostname is its ordinal name" "$(in_pod db-1 hostname)" "db-1"
"$NODELET" get deployment front "${ARGS[@]}" >"$T/get.out" 2>&1
grep -q "^Deployment *front *2/2" "$T/get.out" && ok || bad "nodelet get deployment: $(cat "$T/get.out")"
"$NODELET" workloads "${ARGS[@]}" >"$T/wl.out" 2>&1
grep -q "^Job *count .*3/3" "$T/wl.out" && ok || bad "nodelet workloads: $(cat "$T/wl.out")"

in_pod db-0 sh -c 'echo kept > /data/mine' >/dev/null
db0_uid=$(pod_json db-0 | jq -r .metadata.uid)

# ---- a changed template rolls the Deployment one pod at a time ---------------------------
old=$(pods_of Deployment/front | awk '{print $1}' | tr '\n' ' ')
workloads bonjour >"$M/.w.tmp" && mv "$M/.w.tmp" "$M/workloads.yaml"
max=0; min_ready=9; seen_new=0
for _ in $(seq 240); do
        total=$(wl Deployment front '[.pods[] | select(.terminating | not)] | length')
        ready=$(wl Deployment front '[.pods[] | select(.ready and (.terminating | not))] | length')
        updated=$(wl Deployment front '.status.updatedReplicas')
        [ -n "$total" ] && [ "$total" -gt "$max" ] && max=$total
        [ -n "$ready" ] && [ "$ready" -lt "$min_ready" ] && min_ready=$ready
        [ "$updated" = 2 ] && [ "$(wl Deployment front .status.readyReplicas)" = 2 ] && [ "$(wl Deployment front '.pods | length')" = 2 ] && { seen_new=1; break; }
        sleep 0.5
done
expect_eq "the roll finished" "$seen_new" "1"
expect_eq "never more than replicas + maxSurge pods" "$max" "3"
expect_eq "never fewer than replicas - maxUnavailable ready" "$min_ready" "2"
newhash=$(wl Deployment front '.pods[0].hash')
[ "$newhash" != "$hash" ] && ok || bad "the template hash did not change"
p=$(pods_of Deployment/front | head -1 | awk '{print $1}')
expect_eq "the new pods run the new template" "$("$NODELET" exec "$p" "${ARGS[@]}" -- cat /tmp/greeting 2>&1)" "bonjour"
# ---- the StatefulSet rolled too (highest ordinal first): the claim's data survived ------------
eventually "db-0 is a new pod on the same claim" 120 "kept" sh -c \
        "[ \"\$(\"$NODELET\" get pod db-0-$NODE ${ARGS[*]} -o json | jq -r .metadata.uid)\" != $db0_uid ] && \"$NODELET\" exec db-0-$NODE ${ARGS[*]} -- cat /data/mine"
expect_eq "db-0 booted twice on its claim" "$(in_pod db-0 cat /data/boots)" "db-0
db-0"
[ -d "$T/root/claims/default/data-db-0" ] && ok || bad "the claim's directory is <root>/claims/default/data-db-0"
order=$(grep -E "Deployment front: pod|pod (front-[a-z0-9]+-[0-9]-$NODE): (terminat|no longer)" "$T/daemon.log" | grep -c "Deployment front: pod")
[ "$order" -ge 4 ] && ok || bad "4 pods made in all: $order"

# ---- PersistentVolumeClaim documents: a node-local directory, removed with its document -----
claims() { # POD? RETAIN-ANNOTATION?
        printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: cache%s}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n---\n' "${2:+, annotations: {nodelet.io/retain: \"true\"\}}"
        printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: scratch}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n'
        [ -z "$1" ] || printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: claimer}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: busybox:1.35, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo saved > /cache/f; exec sleep 3600"], volumeMounts: [{name: v, mountPath: /cache}]}]\n  volumes: [{name: v, persistentVolumeClaim: {claimName: cache}}]\n'
}
claims pod >"$M/claims.yaml"
check "a pod on a claim runs" claimer 60 "$RUNNING"
eventually "its data is in <root>/claims/default/cache" 30 "saved" cat "$T/root/claims/default/cache/f"
claims "" >"$M/.c.tmp" && mv "$M/.c.tmp" "$M/claims.yaml"
eventually "the pod goes, the claim's data stays" 60 "" sh -c "\"$NODELET\" get pod claimer-$NODE ${ARGS[*]} -o json 2>/dev/null | jq -r .metadata.name"
expect_eq "the data after the pod" "$(cat "$T/root/claims/default/cache/f" 2>&1)" "saved"
claims "" retain >"$M/.c.tmp" && mv "$M/.c.tmp" "$M/claims.yaml"
sleep 2
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: none}\n' >"$M/.c.tmp" && mv "$M/.c.tmp" "$M/claims.yaml"
eventually "a claim's document removed: its directory goes" 30 "gone" sh -c "[ -e $T/root/claims/default/scratch ] && echo there || echo gone"
expect_eq "... unless it says nodelet.io/retain" "$(cat "$T/root/claims/default/cache/f" 2>&1)" "saved"

# ---- the real Helm: a chart of ours rendered with `helm template`, run as it is -------------
rm -f "$M"/*.yaml # the pods above go (terminated beside what follows)
# HELM_BIN: a helm to use instead of the one tests/fixtures/build-helm.sh builds (and caches)
if HELM=${HELM_BIN:-$(tests/fixtures/build-helm.sh 2>"$T/helm-build.log")} && [ -x "$HELM" ]; then
        ok
        t0=$(date +%s%N)
        "$HELM" template demo tests/fixtures/charts/webapp | tee "$M/chart.yaml" >/dev/null
        eventually "the chart's Deployment: 2 of 2 ready" 120 "2 2" wl Deployment demo-webapp '"\(.status.readyReplicas) \(.status.desired)"'
        echo "    (the chart's Deployment was ready $(( ($(date +%s%N) - t0) / 1000000 )) ms after helm template)"
        eventually "the chart's Job: 2 completions" 120 "2 Complete" wl Job demo-webapp-migrate '"\(.status.succeeded) \(.status.condition)"'
        eventually "the chart's StatefulSet pod runs" 120 "demo-webapp-db-0-$NODE Running" pods_of StatefulSet/demo-webapp-db
        p=$(pods_of Deployment/demo-webapp | head -1 | awk '{print $1}')
        expect_eq "the page from the ConfigMap volume, served in the pod" \
                "$("$NODELET" exec "$p" "${ARGS[@]}" -- wget -qO- http://127.0.0.1:8080/index.html 2>&1)" "<h1>hello from helm</h1>"
        expect_eq "env from the ConfigMap (envFrom) and the Secret" \
                "$("$NODELET" exec "$p" "${ARGS[@]}" -- sh -c 'echo "$GREETING/$PASSWORD"' 2>&1)" "hello from helm/chart-secret"
        expect_eq "a claim's data in the StatefulSet pod" \
                "$("$NODELET" exec "demo-webapp-db-0-$NODE" "${ARGS[@]}" -- sh -c 'wc -l < /data/boots' 2>&1)" "1"
        n=$(grep -c "chart.yaml\[[0-9]*\]: skipped Service \"demo-webapp\" (v1)" "$T/daemon.log")
        expect_eq "the chart's Service: one warning" "$n" "1"
        "$NODELET" validate "$M/chart.yaml" >"$T/validate.out" 2>&1 && ok || bad "nodelet validate on the chart: $(cat "$T/validate.out")"
else
        bad "helm did not build: $(tail -5 "$T/helm-build.log")"
fi

stop_daemon
# under make test SANITIZE=1 the daemon's reports fail the suite
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$T/daemon.log"; then
        bad "sanitizer reports in the daemon's log"; grep -A12 "ERROR: \|runtime error:" "$T/daemon.log" | head -40
else
        ok
fi
[ -n "${KEEP_LOG:-}" ] && cp "$T/daemon.log" "$KEEP_LOG"
echo "$SUITE: $pass passed, $fail failed"
[ "$fail" = 0 ]
