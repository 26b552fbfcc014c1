#!/bin/bash
# Dify on Amazon Linux 2023, for deploybot environment ${env}.
#
# A deploybot template: lower-case names in dollar-braces (env, data_volume_id,
# data_mount) are filled in before the instance sees this file; every other $
# belongs to bash (syntax: deploy-configs/SCHEMA.md). Any change here, such as
# a new DIFY_VERSION, replaces the instances of every environment on its next
# apply; their data is on the EBS volume and survives.
#
# Idempotent: safe to run again; never formats a volume that has a filesystem.
set -euo pipefail
exec > >(tee -a /var/log/deploybot-user-data.log) 2>&1

ENVIRONMENT="${env}"
DATA_VOLUME_ID="${data_volume_id}"
DATA_MOUNT="${data_mount}"
DIFY_VERSION="1.11.2"       # a tag of github.com/langgenius/dify
COMPOSE_VERSION="v2.27.0"   # Dify needs Docker Compose 2.24 or later
DIFY_DIR=/opt/dify

echo "deploybot: Dify $DIFY_VERSION for $ENVIRONMENT, data volume $DATA_VOLUME_ID on $DATA_MOUNT"

# ---- Docker and the compose plugin (Amazon Linux ships Docker without it)
dnf install -y docker git nvme-cli xfsprogs openssl
systemctl enable --now docker
if ! docker compose version >/dev/null 2>&1; then
  mkdir -p /usr/local/lib/docker/cli-plugins
  curl -fsSL --retry 5 -o /usr/local/lib/docker/cli-plugins/docker-compose \
    "https://github.com/docker/compose/releases/download/$COMPOSE_VERSION/docker-compose-linux-$(uname -m)"
  chmod +x /usr/local/lib/docker/cli-plugins/docker-compose
fi

# ---- The data volume
# On Nitro instances the volume attached as /dev/xvdf is an NVMe device whose
# serial number is the volume id without its dash. Find it by that, never by
# device name: NVMe names follow the order in which devices appeared.
find_device() {
  local serial="${DATA_VOLUME_ID/-/}" dev
  dev="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$serial"
  if [ -e "$dev" ]; then readlink -f "$dev"; return 0; fi
  for dev in /dev/nvme*n1; do
    [ -e "$dev" ] || continue
    if [ "$(nvme id-ctrl "$dev" 2>/dev/null | awk '$1 == "sn" { print $3 }')" = "$serial" ]; then
      echo "$dev"; return 0
    fi
  done
  if [ -e /dev/xvdf ]; then echo /dev/xvdf; return 0; fi   # Xen instance types
  return 1
}

DEV=""
for _ in $(seq 1 60); do DEV=$(find_device) && break; sleep 5; done
[ -n "$DEV" ] || { echo "data volume $DATA_VOLUME_ID never appeared"; exit 1; }

# blkid -p exits 2 when it finds no signature at all: only then is the volume
# blank. Any other failure means we cannot tell, and a guess could destroy
# data. (mkfs.xfs without -f also refuses to overwrite a signature.)
probe=0
blkid -p "$DEV" >/dev/null 2>&1 || probe=$?
if [ "$probe" -eq 2 ]; then
  mkfs.xfs -L dify-data "$DEV"
elif [ "$probe" -ne 0 ]; then
  echo "cannot tell whether $DEV is blank (blkid exit $probe); not formatting it"; exit 1
fi

UUID=$(blkid -p -s UUID -o value "$DEV")
FSTYPE=$(blkid -p -s TYPE -o value "$DEV")
[ -n "$UUID" ] || { echo "$DEV has no filesystem UUID"; exit 1; }
mkdir -p "$DATA_MOUNT"
grep -q "^UUID=$UUID " /etc/fstab ||
  echo "UUID=$UUID $DATA_MOUNT $FSTYPE defaults,nofail 0 2" >> /etc/fstab
systemctl daemon-reload      # fstab changed: systemd regenerates its mount unit
mountpoint -q "$DATA_MOUNT" || mount "$DATA_MOUNT"

# ---- Dify, at the pinned version
if [ ! -d "$DIFY_DIR/.git" ]; then
  git clone --depth 1 --branch "$DIFY_VERSION" https://github.com/langgenius/dify.git "$DIFY_DIR"
fi
cd "$DIFY_DIR/docker"

# What Dify keeps lives on the data volume, so a replaced instance comes back
# with the same data and sessions: ./volumes (postgres, redis, weaviate,
# uploads) and .env with its generated SECRET_KEY. Keys a newer Dify adds to
# .env.example take the defaults written in its docker-compose.yaml.
mkdir -p "$DATA_MOUNT/volumes"
if [ -d volumes ] && [ ! -L volumes ]; then
  cp -an volumes/. "$DATA_MOUNT/volumes/"   # the repository's seed files; existing data wins
  rm -rf volumes
fi
ln -sfn "$DATA_MOUNT/volumes" volumes
if [ ! -f "$DATA_MOUNT/dify.env" ]; then
  cp .env.example "$DATA_MOUNT/dify.env.new"
  sed -i "s|^SECRET_KEY=.*|SECRET_KEY=$(openssl rand -base64 42)|" "$DATA_MOUNT/dify.env.new"
  chmod 600 "$DATA_MOUNT/dify.env.new"
  mv "$DATA_MOUNT/dify.env.new" "$DATA_MOUNT/dify.env"
fi
ln -sfn "$DATA_MOUNT/dify.env" .env

# ---- Started by systemd on every boot, after Docker and the data volume
cat > /etc/systemd/system/dify.service <<UNIT
[Unit]
Description=Dify (docker compose) for deploybot environment $ENVIRONMENT
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target
RequiresMountsFor=$DATA_MOUNT

[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory=$DIFY_DIR/docker
ExecStart=/usr/bin/docker compose up -d --remove-orphans
ExecStop=/usr/bin/docker compose down
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now dify.service
