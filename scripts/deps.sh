#!/usr/bin/env bash
# Installs the Debian packages the build, the private broker and the tests (tmux for the CLI screen test)
# need, when they are missing; packages named as arguments too (make test adds chromium and chromium-driver
# for the desks' browser test).
# As root it runs apt-get itself (one `apt-get update` first); otherwise it prints the exact command.
set -euo pipefail

packages=(librabbitmq-dev libpq-dev libssl-dev libsqlite3-dev sqlite3 rabbitmq-server postgresql openssl pkg-config python3 python3-venv libcurl4 libxml2 tmux curl "$@")
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's package starts the system RabbitMQ where it can; we never use it (our node is private).
apt-get install -y -qq "${missing[@]}" >/dev/null
