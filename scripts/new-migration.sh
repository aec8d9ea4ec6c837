#!/usr/bin/env bash
# Writes prisma/migrations/<timestamp>_<name>/migration.sql: the SQL that takes the schema of
# the last commit (HEAD:prisma/schema.prisma) to the working tree's schema.prisma. Offline.
set -euo pipefail
name="${1:?usage: npm run db:new-migration -- <name>}"
[[ "$name" =~ ^[a-z0-9_]+$ ]] || { echo "migration name must be lower_snake_case" >&2; exit 2; }
cd "$(dirname "$0")/.."
dir="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
previous="$(mktemp --suffix=.prisma)"
trap 'rm -f "$previous"' EXIT
if git cat-file -e HEAD:prisma/schema.prisma 2>/dev/null; then
  git show HEAD:prisma/schema.prisma > "$previous"
  from=(--from-schema-datamodel "$previous")
else
  from=(--from-empty)
fi
mkdir -p "$dir"
npm run -s prisma -- migrate diff "${from[@]}" --to-schema-datamodel prisma/schema.prisma --script -o "$dir/migration.sql"
echo "wrote $dir/migration.sql"
