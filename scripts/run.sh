#!/usr/bin/env bash
# Quick start: installs what is missing, builds Release, provisions a demo account on first
# start and runs `authgate serve` on 127.0.0.1:8080 with the embedded SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
bin=build/authgate
demo=authgate-data/demo-account.json
if [ ! -f "$demo" ]; then
  mkdir -p authgate-data && chmod 700 authgate-data
  (umask 077 && "$bin" user add demo --json > "$demo.tmp" && mv "$demo.tmp" "$demo") || {
    rm -f "$demo.tmp"; echo "could not create the demo account" >&2; exit 1; }
fi
# The address to show: --listen if given, else the default.
address=127.0.0.1:8080
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --listen) address="${args[$((i + 1))]:-$address}" ;;
    --listen=*) address="${args[$i]#--listen=}" ;;
  esac
done
read_field() { python3 -c "import json,sys; print(json.load(open('$demo'))['$1'])"; }
user=$(read_field username); password=$(read_field password); secret=$(read_field totpSecret)
cat <<INFO

  authgate demo account (kept in $demo, readable by you only)
    username:     $user
    password:     $password
    TOTP secret:  $secret

  Log in (the otp comes from the secret, as an authenticator app would make it):
    curl -s -X POST http://$address/api/v1/public/auth/login \\
      -H 'Content-Type: application/json' \\
      -d "{\"username\":\"$user\",\"password\":\"$password\",\"otp\":\"\$($bin totp $secret)\"}"

  Then check a request's authorization (paste the accessToken):
    curl -s http://$address/api/v1/auth/verify \\
      -H "Authorization: Bearer ACCESS_TOKEN" -H "otp: \$($bin totp $secret)"

  Metrics, for operators only (the management listener, server.management_listen):
    curl -s http://127.0.0.1:9464/metrics

INFO
exec "$bin" serve "$@"
