# Sourced by scripts/setup.sh and scripts/install-clients.sh: the one idempotent apt-get step.
# missing_packages PKG...    prints the packages of the list that are not installed
# install_packages WHO PKG...  installs the missing ones (apt-get update first, once), prints what it did
missing_packages() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}

install_packages() {
  local who="$1"; shift
  local missing
  mapfile -t missing < <(missing_packages "$@")
  if ((${#missing[@]} == 0)); then
    echo "$who: packages present"
    return 0
  fi
  echo "$who: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
}
