#!/usr/bin/env bash
# Real peers: Debian's oathtool (an independent TOTP implementation) and curl.
#  1. `authgate totp` agrees with `oathtool --totp` at fixed times;
#  2. a code made by oathtool logs in, and curl drives login -> verify -> refresh -> logout.
set -euo pipefail
BIN=$(readlink -f "$1")
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
export AUTHGATE_RATELIMIT_PER_ADDRESS_PER_S=0 AUTHGATE_LOG_AUDIT_FILE="$work/audit.log"
fail() { echo "FAIL: $*" >&2; exit 1; }

passed=0
for secret in JBSWY3DPEHPK3PXP GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ; do
  for t in 0 59 1111111109 1234567890 2000000000 1700000015; do
    ours=$("$BIN" totp "$secret" --time "$t")
    theirs=$(oathtool --totp -b "$secret" -N "@$t")
    [ "$ours" = "$theirs" ] || fail "totp $secret at $t: authgate $ours, oathtool $theirs"
    passed=$((passed + 1))
  done
done

created=$("$BIN" user add alice --json)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
password=$(field "$created" password); secret=$(field "$created" totpSecret)

"$BIN" serve --listen 127.0.0.1:0 2> server.log &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on" server.log && break; sleep 0.1; done
port=$(grep -o 'http://127.0.0.1:[0-9]*' server.log | head -1 | cut -d: -f3)
[ -n "$port" ] || fail "server did not start: $(cat server.log)"
base="http://127.0.0.1:$port"

otp=$(oathtool --totp -b "$secret")
login=$(curl -sS -X POST "$base/api/v1/public/auth/login" -H 'Content-Type: application/json-patch+json' \
  -d "{\"username\":\"alice\",\"password\":\"$password\",\"otp\":\"$otp\"}")
[ "$(field "$login" status)" = "1" ] || fail "login with an oathtool code: $login"
access=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['details']['accessToken'])" "$login")
refresh=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['details']['refreshToken'])" "$login")
passed=$((passed + 1))

code=$(curl -sS -o verify.json -w '%{http_code}' "$base/api/v1/auth/verify" \
  -H "Authorization: Bearer $access" -H "otp: $(oathtool --totp -b "$secret")")
[ "$code" = 200 ] || fail "verify: $code $(cat verify.json)"
passed=$((passed + 1))

code=$(curl -sS -o refreshed.json -w '%{http_code}' -X POST "$base/api/v1/public/auth/refresh" \
  -H 'Content-Type: application/json' -d "{\"refreshToken\":\"$refresh\"}")
[ "$code" = 200 ] || fail "refresh: $code $(cat refreshed.json)"
access=$(python3 -c "import json; print(json.load(open('refreshed.json'))['details']['accessToken'])")
passed=$((passed + 1))

code=$(curl -sS -o logout.json -w '%{http_code}' -X POST "$base/api/v1/auth/logout" \
  -H "Authorization: Bearer $access" -H "otp: $("$BIN" totp "$secret")")
[ "$code" = 200 ] || fail "logout: $code $(cat logout.json)"
code=$(curl -sS -o after.json -w '%{http_code}' "$base/api/v1/auth/verify" \
  -H "Authorization: Bearer $access" -H "otp: $("$BIN" totp "$secret")")
[ "$code" = 401 ] || fail "verify after logout: $code"
grep -q 'Bearer realm="authgate"' <(curl -sS -D - -o /dev/null "$base/api/v1/auth/verify") ||
  fail "WWW-Authenticate missing"
passed=$((passed + 1))

kill -TERM "$server_pid"; wait "$server_pid" || fail "serve exited non-zero after SIGTERM"
server_pid=""
echo "peers: $passed passed, 0 failed"
