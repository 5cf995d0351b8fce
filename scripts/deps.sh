#!/bin/sh
# Installs the Debian packages bangfu needs, when some are missing.
# Quick and silent when everything is there already.
set -eu

PKGS="kore libpq-dev libhiredis-dev libjwt-dev libjansson-dev libsodium-dev
libcmocka-dev libssl-dev redis-server postgresql postgresql-contrib wrk
python3-pytest python3-requests python3-pil python3-yaml python3-jsonschema chromium nodejs
clang-format nginx libnginx-mod-http-js fonts-wqy-microhei
clang libclang-rt-14-dev
postgresql-15-auto-failover pg-auto-failover-cli pgbackrest redis-sentinel"
[ "${1:-}" = --list ] && { echo $PKGS; exit 0; }

# Kore's workers run as this system user (conf/bangfu.conf's runas) when
# the server is started as root: no login, no home, no files of its own.
if [ "$(id -u)" -eq 0 ] && ! id -u bangfu >/dev/null 2>&1; then
	echo "deps: adding system user bangfu"
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin bangfu
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
# scripts/fresh-check.sh puts a stand-in for apt-get here.
if [ -n "${DEPS_INSTALL_CMD:-}" ]; then
	exec $DEPS_INSTALL_CMD $missing
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages' own services from starting: we run private ones.
$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d'
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
$SUDO rm -f /usr/sbin/policy-rc.d
