#!/usr/bin/env bash
# One HTTP answer for tests/agent/bundles.sh's --manifest-url (run by socat per connection):
# the file $1 when the request carries the header "X-Token: $2", else 403.
file=$1 token=$2 ok=0
while IFS= read -r line; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        [ "$line" = "X-Token: $token" ] && ok=1
done
if [ "$ok" = 1 ] && [ -f "$file" ]; then
        printf 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' "$(stat -c %s "$file")"
        cat "$file"
else
        printf 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
fi
