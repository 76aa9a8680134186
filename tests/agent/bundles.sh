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

stop_daemon
echo "$SUITE: $pass passed, $fail failed"
[ "$fail" = 0 ]
