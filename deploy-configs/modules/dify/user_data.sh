#!/bin/bash
# Dify on Amazon Linux 2023 — rendered by deploybot for environment ${env}.
# Template variables: ${env} ${data_volume_id} ${dify_version} ${data_mount}
# Idempotent: safe on every boot; never formats a volume that has a filesystem.
set -euo pipefail
exec > >(tee -a /var/log/deploybot-user-data.log) 2>&1

DATA_VOLUME_ID="${data_volume_id}"
DATA_MOUNT="${data_mount}"
DIFY_VERSION="${dify_version}"

dnf install -y docker git nvme-cli
systemctl enable --now docker
if ! docker compose version >/dev/null 2>&1; then
  mkdir -p /usr/local/lib/docker/cli-plugins
  curl -fsSL "https://github.com/docker/compose/releases/download/v2.27.0/docker-compose-linux-$(uname -m)" \
    -o /usr/local/lib/docker/cli-plugins/docker-compose
  chmod +x /usr/local/lib/docker/cli-plugins/docker-compose
fi

# On Nitro instances /dev/xvdf appears as an NVMe device whose serial is the
# volume id without its dash: find the device by volume id, not by name.
find_device() {
  local want="${DATA_VOLUME_ID/-/}"
  for dev in /dev/nvme*n1; do
    [ -e "$dev" ] || continue
    if nvme id-ctrl -v "$dev" 2>/dev/null | grep -q "$want"; then echo "$dev"; return 0; fi
  done
  [ -e /dev/xvdf ] && { echo /dev/xvdf; return 0; }
  return 1
}

for i in $(seq 1 60); do DEV=$(find_device) && break; sleep 5; done
[ -n "${DEV:-}" ] || { echo "data volume ${DATA_VOLUME_ID} never appeared"; exit 1; }

if ! blkid "$DEV" >/dev/null 2>&1; then
  mkfs.xfs -L dify-data "$DEV"          # only a blank volume is ever formatted
fi
mkdir -p "$DATA_MOUNT"
UUID=$(blkid -s UUID -o value "$DEV")
grep -q "$UUID" /etc/fstab || echo "UUID=$UUID $DATA_MOUNT xfs defaults,nofail 0 2" >> /etc/fstab
mountpoint -q "$DATA_MOUNT" || mount "$DATA_MOUNT"

if [ ! -d /opt/dify/.git ]; then
  git clone --depth 1 --branch "$DIFY_VERSION" https://github.com/langgenius/dify.git /opt/dify
fi
cd /opt/dify/docker
[ -f .env ] || cp .env.example .env
# postgres, redis and weaviate keep their data on the EBS volume, not the root disk.
mkdir -p "$DATA_MOUNT/volumes"
if [ -d volumes ] && [ ! -L volumes ]; then
  cp -an volumes/. "$DATA_MOUNT/volumes/" && rm -rf volumes
fi
ln -sfn "$DATA_MOUNT/volumes" volumes

cat > /etc/systemd/system/dify.service <<UNIT
[Unit]
Description=Dify (docker compose)
Requires=docker.service
After=docker.service $(systemd-escape -p --suffix=mount "$DATA_MOUNT")

[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory=/opt/dify/docker
ExecStart=/usr/bin/docker compose up -d
ExecStop=/usr/bin/docker compose down

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now dify.service
