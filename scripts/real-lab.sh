#!/usr/bin/env bash
# A two-site lab of real components, on loopback, in a folder of its own, to
# drill against (playbooks/examples/real-*.yaml, e2e/reallab_test.go):
#
#   site "primary" and site "standby", each with
#     - PostgreSQL (the standby streams WAL from the primary): tables
#       channels, memberships, messages (attachments named by path + SHA-256)
#     - OpenLDAP (the standby is a syncrepl consumer of the primary, both
#       with the syncprov overlay): users, groupOfNames permission groups
#     - an attachment store (a folder), copied one way by an rsync loop
#   and an HAProxy front door (backends pg_sites and ldap_sites: server
#   primary, and server standby as backup) with its runtime API on a socket.
#
# Commands (Debian packages only: postgresql slapd ldap-utils haproxy rsync socat):
#
#   real-lab.sh start DIR BASEPORT     start it (ports BASEPORT..BASEPORT+5); prints --set flags
#   real-lab.sh stop DIR               stop every process of the lab
#   real-lab.sh cut-replication DIR [all|pg|ldap|files]   cut the link between the sites: the
#       WAL receiver stops (primary_conninfo emptied), the LDAP consumer's syncrepl points
#       nowhere (it stays a read-only shadow), the rsync loop stops
#   real-lab.sh lose-site DIR primary|standby   stop every process of a site at once
#   real-lab.sh delay DIR 500ms        the standby applies WAL that late (recovery_min_apply_delay)
#                                      and the rsync loop waits that long between copies
#   real-lab.sh heal DIR               undo cut and delay; restart a lost site still a follower
#   real-lab.sh rejoin DIR SITE        SITE follows the other site again (pg_rewind, syncrepl, rsync)
#   real-lab.sh snapshot DIR           record both sites' newest changes in truth.json
#   real-lab.sh post DIR AUTHOR TEXT [FILE]   post a message (and an attachment) on the active site
#
# DIR/truth.json holds the lab's own record of what it did (instants of cuts
# and losses, the newest change each side held): what a drill's measures are
# checked against. The servers bind 127.0.0.1 only. As root, PostgreSQL runs
# as "postgres" (Debian's package creates it); DIR must be traversable by it.
set -euo pipefail

usage="usage: real-lab.sh start DIR BASEPORT | stop DIR | cut-replication DIR [all|pg|ldap|files] | lose-site DIR SITE | delay DIR DURATION | heal DIR | rejoin DIR SITE | snapshot DIR | post DIR AUTHOR TEXT [FILE]"
cmd=${1:?$usage}
dir=${2:?$usage}
shift 2
base_dn=dc=example,dc=com
export PATH=$PATH:/usr/sbin # slapd, slapadd, slappasswd
pgbin=${PG_BIN:-}
if [ -z "$pgbin" ]; then
  for b in /usr/lib/postgresql/*/bin; do pgbin=$b; done
fi

die() { echo "real-lab: $*" >&2; exit 1; }
now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
other() { if [ "$1" = primary ]; then echo standby; else echo primary; fi; }

# Ports: front door pg and ldap, then PostgreSQL and slapd of each site.
ports() {
  base=$(cat "$dir/run/baseport")
  front_pg=$base front_ldap=$((base + 1))
  pg_primary=$((base + 2)) pg_standby=$((base + 3))
  ldap_primary=$((base + 4)) ldap_standby=$((base + 5))
}
pgport() { local v=pg_$1; echo "${!v}"; }
ldapport() { local v=ldap_$1; echo "${!v}"; }
psqlc() { # psqlc SITE SQL: one value, unaligned
  "$pgbin/psql" -X -qAt -h 127.0.0.1 -p "$(pgport "$1")" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2"
}
conninfo() { echo "host=127.0.0.1 port=$(pgport "$1") user=postgres application_name=$(other "$1")"; }

# truth KEY JSON-VALUE records one fact in DIR/truth.json.
truth() {
  local f=$dir/run/truth.tsv
  touch "$f"
  { grep -v "^$1	" "$f" || true; printf '%s\t%s\n' "$1" "$2"; } >"$f.tmp"
  mv "$f.tmp" "$f"
  awk -F'\t' 'BEGIN { printf "{" } { printf "%s\n  \"%s\": %s", (NR > 1 ? "," : ""), $1, $2 } END { print "\n}" }' "$f" >"$dir/truth.json.tmp"
  mv "$dir/truth.json.tmp" "$dir/truth.json"
}
q() { printf '"%s"' "$1"; }
secs_between() { # secs_between LATER EARLIER: seconds, never negative
  awk -v a="$(date -u -d "$1" +%s.%N)" -v b="$(date -u -d "$2" +%s.%N)" 'BEGIN { d = a - b; if (d < 0) d = 0; printf "%.6f", d }'
}

# ldapmod SITE: apply the LDIF on stdin to SITE's cn=config as its admin.
ldapmod() { ldapmodify -x -H "ldap://127.0.0.1:$(ldapport "$1")" -D cn=admin,cn=config -y "$dir/run/ldap.pw" >/dev/null; }
# csn SITE: SITE's newest contextCSN as an RFC 3339 instant ("" if none).
csn() {
  ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://127.0.0.1:$(ldapport "$1")" -D "cn=drillctl,$base_dn" -y "$dir/run/ldap.pw" \
    -s base -b "$base_dn" contextCSN 2>/dev/null | sed -n 's/^contextCSN: //p' | sort | tail -1 |
    sed -E 's/^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})\.([0-9]+)Z.*/\1-\2-\3T\4:\5:\6.\7Z/'
}
syncrepl() { # syncrepl PROVIDER-PORT: the consumer's olcSyncrepl value
  echo "rid=001 provider=ldap://127.0.0.1:$1 bindmethod=simple binddn=\"cn=admin,$base_dn\" credentials=$(cat "$dir/run/ldap.pw") searchbase=\"$base_dn\" type=refreshAndPersist retry=\"1 +\" timeout=1 network-timeout=1"
}
is_consumer() { [ -n "$(ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://127.0.0.1:$(ldapport "$1")" -D cn=admin,cn=config -y "$dir/run/ldap.pw" -b 'olcDatabase={1}mdb,cn=config' -s base olcSyncrepl 2>/dev/null | grep '^olcSyncrepl')" ]; }
pg_follower() { # the site whose PostgreSQL is in recovery ("" if none answers so)
  local s; for s in primary standby; do [ "$(psqlc "$s" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] && echo "$s" && return; done; true
}
ldap_consumer() { local s; for s in primary standby; do if is_consumer "$s"; then echo "$s"; return; fi; done; }

start_slapd() { slapd -F "$dir/ldap/$1/slapd.d" -h "ldap://127.0.0.1:$(ldapport "$1")/" -n "slapd-lab-$1"; }
stop_slapd() { [ -f "$dir/ldap/$1/slapd.pid" ] && kill -9 "$(cat "$dir/ldap/$1/slapd.pid")" 2>/dev/null || true; rm -f "$dir/ldap/$1/slapd.pid"; }
wait_port() { local i; for i in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; die "nothing listens on port $1"; }

# files_loop FROM: copy FROM's attachments to the other site every interval,
# recording the instant of each completed copy (run as its own session).
files_loop() {
  local from=$1 to
  to=$(other "$from")
  echo "$from" >"$dir/run/files-from"
  cat >"$dir/run/files-loop.sh" <<LOOP
#!/usr/bin/env bash
echo \$\$ >"$dir/run/files-loop.pid"
while :; do
  if rsync -a --update "$dir/files/$from/" "$dir/files/$to/" 2>>"$dir/run/rsync.log"; then
    date -u +%Y-%m-%dT%H:%M:%S.%NZ >"$dir/run/files-synced.tmp" && mv "$dir/run/files-synced.tmp" "$dir/run/files-synced"
  fi
  sleep "\$(cat "$dir/run/files-interval")"
done
LOOP
  chmod +x "$dir/run/files-loop.sh"
  rm -f "$dir/run/files-loop.pid"
  setsid "$dir/run/files-loop.sh" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 100); do [ -s "$dir/run/files-loop.pid" ] && return 0; sleep 0.02; done
}
stop_files_loop() { [ -s "$dir/run/files-loop.pid" ] && kill -- "-$(cat "$dir/run/files-loop.pid")" 2>/dev/null || true; rm -f "$dir/run/files-loop.pid"; }

# --- start -------------------------------------------------------------------

write_slapd_config() { # write_slapd_config SITE SERVER-ID
  local site=$1 sid=$2 d=$dir/ldap/$1 hash
  hash=$(slappasswd -s "$(cat "$dir/run/ldap.pw")")
  mkdir -p "$d/slapd.d" "$d/data"
  cat >"$d/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcServerID: $sid
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=admin,cn=config
olcRootPW: $hash

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $d/data
olcSuffix: $base_dn
olcRootDN: cn=admin,$base_dn
olcRootPW: $hash
olcDbIndex: objectClass eq
olcDbIndex: entryCSN,entryUUID eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 1 1
olcSpSessionlog: 1000
LDIF
  slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >/dev/null 2>&1 || die "slapadd of $site's configuration failed"
}

seed_ldap() {
  local hash u
  hash=$(slappasswd -s "$(cat "$dir/run/ldap.pw")")
  {
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n' "$base_dn"
    printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$base_dn"
    printf 'dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n' "$base_dn"
    printf 'dn: cn=drillctl,%s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: drillctl\nuserPassword: %s\ndescription: read-only account the drills compare the directories with\n\n' "$base_dn" "$hash"
    for u in alice bob carol dave mallory; do
      printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n\n' "$u" "$base_dn" "$u" "$u" "$u" "$u"
    done
    group() { printf 'dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n' "$1" "$base_dn" "$1"; shift; for u; do printf 'member: uid=%s,ou=people,%s\n' "$u" "$base_dn"; done; echo; }
    group chat-admins alice mallory
    group finance bob mallory
    group engineering alice carol dave
    group everyone alice bob carol dave mallory
  } >"$dir/ldap/data.ldif"
  slapadd -n1 -w -S 1 -F "$dir/ldap/primary/slapd.d" -l "$dir/ldap/data.ldif" >/dev/null 2>&1 || die "slapadd of the directory failed"
}

seed_pg() {
  local f sum
  mkdir -p "$dir/files/primary/attachments" "$dir/files/standby/attachments"
  {
    cat <<'SQL'
CREATE TABLE channels (id serial PRIMARY KEY, name text UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE memberships (channel_id int NOT NULL REFERENCES channels, member text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (channel_id, member));
CREATE TABLE messages (id bigserial PRIMARY KEY, channel_id int NOT NULL REFERENCES channels, author text NOT NULL, body text NOT NULL,
  attachment text, attachment_sha256 text, created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE drillctl_probe (at timestamptz NOT NULL DEFAULT now());
INSERT INTO channels (name) VALUES ('general'), ('finance'), ('engineering');
INSERT INTO memberships (channel_id, member) SELECT c.id, m FROM channels c,
  unnest(ARRAY['alice','bob','carol','dave','mallory']) m WHERE c.name = 'general';
INSERT INTO memberships (channel_id, member) SELECT id, unnest(ARRAY['bob','mallory']) FROM channels WHERE name = 'finance';
INSERT INTO memberships (channel_id, member) SELECT id, unnest(ARRAY['alice','carol','dave']) FROM channels WHERE name = 'engineering';
SQL
    for f in q3-budget.xlsx roadmap.pdf; do
      head -c 4096 /dev/urandom >"$dir/files/primary/attachments/$f"
      sum=$(sha256sum "$dir/files/primary/attachments/$f" | cut -d' ' -f1)
      echo "INSERT INTO messages (channel_id, author, body, attachment, attachment_sha256) SELECT id, 'bob', 'see attached', 'attachments/$f', '$sum' FROM channels WHERE name = 'finance';"
    done
    echo "INSERT INTO messages (channel_id, author, body) SELECT id, 'alice', 'hello ' || n FROM channels, generate_series(1, 5) n WHERE name = 'general';"
  } | "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_primary" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null
}

start_lab() {
  local baseport=${1:?BASEPORT} s
  [ -x "$pgbin/initdb" ] || { echo "real-lab: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 2; }
  for s in slapd slapadd ldapmodify haproxy rsync socat; do
    command -v "$s" >/dev/null 2>&1 || [ -x "/usr/sbin/$s" ] || { echo "real-lab: $s is missing (apt-get install slapd ldap-utils haproxy rsync socat)" >&2; exit 2; }
  done
  mkdir -p "$dir/run" "$dir/pg" "$dir/ldap" "$dir/files"
  echo "$baseport" >"$dir/run/baseport"
  echo 0.2 >"$dir/run/files-interval"
  ports
  # The directory's password (admin, config, and the drills' reader): the
  # worker's REAL_LAB_LDAP_PASSWORD if set, else a new random one.
  if [ -n "${REAL_LAB_LDAP_PASSWORD:-}" ]; then
    (umask 077; printf %s "$REAL_LAB_LDAP_PASSWORD" >"$dir/run/ldap.pw")
  else
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/run/ldap.pw")
  fi
  truth startedAt "$(q "$(now)")"
  truth baseport "$baseport"

  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pg"
  as_pg "$pgbin/initdb" -D "$dir/pg/primary" -U postgres --auth=trust >"$dir/pg/initdb.log" 2>&1
  cat >>"$dir/pg/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_primary
unix_socket_directories = '$dir/pg'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
wal_log_hints = on
hot_standby = on
track_commit_timestamp = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 200ms
fsync = off
CONF
  echo "host replication all 127.0.0.1/32 trust" >>"$dir/pg/primary/pg_hba.conf"
  as_pg "$pgbin/pg_ctl" -D "$dir/pg/primary" -l "$dir/pg/primary.log" -w start >/dev/null
  seed_pg
  as_pg "$pgbin/pg_basebackup" -c fast -h 127.0.0.1 -p "$pg_primary" -U postgres -D "$dir/pg/standby" -X stream >"$dir/pg/basebackup.log" 2>&1
  printf "port = %s\nprimary_conninfo = '%s'\n" "$pg_standby" "$(conninfo primary)" >>"$dir/pg/standby/postgresql.conf"
  as_pg touch "$dir/pg/standby/standby.signal"
  as_pg "$pgbin/pg_ctl" -D "$dir/pg/standby" -l "$dir/pg/standby.log" -w start >/dev/null

  write_slapd_config primary 1
  write_slapd_config standby 2
  seed_ldap
  start_slapd primary
  start_slapd standby
  wait_port "$ldap_primary"
  wait_port "$ldap_standby"
  printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nadd: olcSyncrepl\nolcSyncrepl: %s\n-\nadd: olcUpdateRef\nolcUpdateRef: ldap://127.0.0.1:%s\n' \
    "$(syncrepl "$ldap_primary")" "$ldap_primary" | ldapmod standby

  files_loop primary

  cat >"$dir/haproxy.cfg" <<CFG
global
  stats socket $dir/haproxy.sock mode 600 level admin
  pidfile $dir/run/haproxy.pid
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  default-server inter 200ms fall 2 rise 2 on-marked-down shutdown-sessions
frontend pg
  bind 127.0.0.1:$front_pg
  default_backend pg_sites
frontend ldap
  bind 127.0.0.1:$front_ldap
  default_backend ldap_sites
backend pg_sites
  option pgsql-check user postgres
  server primary 127.0.0.1:$pg_primary check
  server standby 127.0.0.1:$pg_standby check backup
backend ldap_sites
  option ldap-check
  server primary 127.0.0.1:$ldap_primary check
  server standby 127.0.0.1:$ldap_standby check backup
CFG
  haproxy -D -f "$dir/haproxy.cfg"

  for _ in $(seq 200); do # the consumer holds the directory, the standby the data
    [ -n "$(csn standby)" ] && [ "$(csn standby)" = "$(csn primary)" ] && [ -s "$dir/run/files-synced" ] &&
      [ "$(psqlc standby 'SELECT count(*) FROM messages')" = 7 ] && break
    sleep 0.05
  done
  [ "$(csn standby)" = "$(csn primary)" ] || die "the LDAP consumer did not synchronise"
  local pg="postgres://postgres@127.0.0.1" opt="/postgres?sslmode=disable"
  printf -- '--set %s\n' "primary=$pg:$pg_primary$opt" "standby=$pg:$pg_standby$opt" "front=$pg:$front_pg$opt" \
    "ldapPrimary=ldap://127.0.0.1:$ldap_primary" "ldapStandby=ldap://127.0.0.1:$ldap_standby" "ldapFront=ldap://127.0.0.1:$front_ldap" \
    "haproxySocket=$dir/haproxy.sock" "filesPrimary=$dir/files/primary" "filesStandby=$dir/files/standby" \
    "lab=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "labDir=$dir"
  echo "# the worker needs the directory password: export REAL_LAB_LDAP_PASSWORD=\"\$(cat $dir/run/ldap.pw)\""
}

# --- faults ------------------------------------------------------------------

cut_pg() {
  local f
  f=$(pg_follower)
  [ -n "$f" ] || die "no PostgreSQL follower to cut"
  psqlc "$f" "ALTER SYSTEM SET primary_conninfo = ''" >/dev/null
  psqlc "$f" "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 200); do [ "$(psqlc "$f" 'SELECT count(*) FROM pg_stat_wal_receiver')" = 0 ] && break; sleep 0.02; done
  [ "$(psqlc "$f" 'SELECT count(*) FROM pg_stat_wal_receiver')" = 0 ] || die "the WAL receiver of $f did not stop"
  truth pgCutAt "$(q "$(now)")"
  truth pgLastReplayedCommitAt "$(q "$(psqlc "$f" "SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")")"
}

cut_ldap() {
  local c
  c=$(ldap_consumer)
  [ -n "$c" ] || die "no LDAP consumer to cut"
  # The consumer keeps its syncrepl (it stays a read-only shadow) but its
  # provider becomes a port where nothing listens: it retries in vain.
  printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcSyncrepl\nolcSyncrepl: %s\n' "$(syncrepl 9)" | ldapmod "$c"
  truth ldapCutAt "$(q "$(now)")"
  truth ldapProvider "$(q "$(other "$c")")"
  truth ldapConsumerNewestAtCut "$(q "$(csn "$c")")"
  truth ldapProviderNewestAtCut "$(q "$(csn "$(other "$c")")")"
}

cut_files() {
  stop_files_loop
  truth filesCutAt "$(q "$(now)")"
  [ -s "$dir/run/files-synced" ] && truth filesLastSyncAt "$(q "$(cat "$dir/run/files-synced")")"
  return 0
}

snapshot() { # the newest change each side holds now, and the permission RPO truth
  local s at c
  for s in primary standby; do
    at=$(csn "$s" || true)
    [ -n "$at" ] && truth "ldapNewestAt_$s" "$(q "$at")"
    c=$(psqlc "$s" "SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM pg_last_committed_xact()" 2>/dev/null || true)
    [ -n "$c" ] && truth "pgLastCommitAt_$s" "$(q "$c")"
  done
  truth snapshotAt "$(q "$(now)")"
  local p n provider
  provider=$(sed -n 's/^ldapProvider\t"\(.*\)"$/\1/p' "$dir/run/truth.tsv")
  p=$(sed -n "s/^ldapNewestAt_${provider:-primary}\t\"\(.*\)\"\$/\1/p" "$dir/run/truth.tsv")
  n=$(sed -n 's/^ldapConsumerNewestAtCut\t"\(.*\)"$/\1/p' "$dir/run/truth.tsv")
  if [ -n "$p" ] && [ -n "$n" ]; then truth permissionRpoSeconds "$(secs_between "$p" "$n")"; fi
}

lose_site() {
  local site=${1:?SITE}
  ports
  snapshot
  psqlc "$site" 'SELECT pg_is_in_recovery()' >"$dir/run/lost-in-recovery" 2>/dev/null || true
  local lost
  lost=$(now)
  [ "$(cat "$dir/run/files-from" 2>/dev/null)" = "$site" ] && stop_files_loop
  stop_slapd "$site"
  as_pg "$pgbin/pg_ctl" -D "$dir/pg/$site" -m immediate stop >/dev/null 2>&1 || true
  truth lostSite "$(q "$site")"
  truth lostAt "$(q "$lost")"
  truth stoppedAt "$(q "$(now)")"
  local r
  r=$(sed -n 's/^pgLastReplayedCommitAt\t"\(.*\)"$/\1/p' "$dir/run/truth.tsv")
  [ -n "$r" ] && truth dataRpoSeconds "$(secs_between "$lost" "$r")"
  echo "$site" >"$dir/run/lost"
}

delay() {
  local d=${1:?DURATION (like 500ms)} ms f
  case $d in *ms) ms=${d%ms} ;; *s) ms=$(awk -v s="${d%s}" 'BEGIN { print s * 1000 }') ;; *) die "duration $d: expected like 500ms or 2s" ;; esac
  f=$(pg_follower)
  [ -n "$f" ] && psqlc "$f" "ALTER SYSTEM SET recovery_min_apply_delay = '${ms}ms'" >/dev/null && psqlc "$f" "SELECT pg_reload_conf()" >/dev/null
  awk -v ms="$ms" 'BEGIN { printf "%.3f\n", (ms < 200 ? 200 : ms) / 1000 }' >"$dir/run/files-interval"
  truth delay "$(q "$d")"
  truth delayedAt "$(q "$(now)")"
}

heal() {
  local f c lost
  lost=$(cat "$dir/run/lost" 2>/dev/null || true)
  if [ -n "$lost" ]; then
    [ "$(cat "$dir/run/lost-in-recovery" 2>/dev/null)" = t ] || [ "$(psqlc "$(other "$lost")" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] ||
      die "the $(other "$lost") site was promoted since $lost was lost: use rejoin $lost (restarting it as it was would make two primaries)"
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/$lost" -l "$dir/pg/$lost.log" -w start >/dev/null
    start_slapd "$lost"
    wait_port "$(ldapport "$lost")"
    rm -f "$dir/run/lost"
  fi
  f=$(pg_follower)
  if [ -n "$f" ]; then
    psqlc "$f" "ALTER SYSTEM SET primary_conninfo = '$(conninfo "$(other "$f")")'" >/dev/null
    psqlc "$f" "ALTER SYSTEM RESET recovery_min_apply_delay" >/dev/null
    psqlc "$f" "SELECT pg_reload_conf()" >/dev/null
  fi
  c=$(ldap_consumer)
  [ -n "$c" ] && printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcSyncrepl\nolcSyncrepl: %s\n' \
    "$(syncrepl "$(ldapport "$(other "$c")")")" | ldapmod "$c"
  echo 0.2 >"$dir/run/files-interval"
  [ -s "$dir/run/files-loop.pid" ] || files_loop "$(cat "$dir/run/files-from")"
  truth healedAt "$(q "$(now)")"
}

# follow SITE SOURCE: start SITE's (stopped) database as a standby of SOURCE.
follow() {
  local d=$dir/pg/$1
  as_pg sed -i '/^default_transaction_read_only/d; /^primary_conninfo/d; /^recovery_min_apply_delay/d' "$d/postgresql.auto.conf"
  printf "port = %s\nprimary_conninfo = '%s'\n" "$(pgport "$1")" "$(conninfo "$2")" | as_pg tee -a "$d/postgresql.conf" >/dev/null
  as_pg touch "$d/standby.signal"
  as_pg "$pgbin/pg_ctl" -D "$d" -l "$dir/pg/$1.log" -w start >/dev/null
}

# rejoin SITE: SITE follows the other site (the current primary) again.
rejoin() {
  local site=${1:?SITE} src d
  src=$(other "$site")
  d=$dir/pg/$site
  [ "$(psqlc "$src" 'SELECT pg_is_in_recovery()')" = f ] || die "the $src site's PostgreSQL is not a primary: promote it first"
  as_pg "$pgbin/pg_ctl" -D "$d" -m fast stop >/dev/null 2>&1 || true
  psqlc "$src" CHECKPOINT >/dev/null # pg_rewind reads the new timeline from the source's control file
  if ! as_pg "$pgbin/pg_rewind" -D "$d" --source-server="$(conninfo "$src") dbname=postgres" >"$dir/pg/rewind-$site.log" 2>&1 ||
    ! follow "$site" "$src"; then
    as_pg "$pgbin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$d" # rewinding failed: copy the primary afresh
    as_pg "$pgbin/pg_basebackup" -c fast -h 127.0.0.1 -p "$(pgport "$src")" -U postgres -D "$d" -X stream >>"$dir/pg/rewind-$site.log" 2>&1
    follow "$site" "$src" || die "the $site database does not start as a standby (see $dir/pg/$site.log)"
  fi
  if ! (echo >"/dev/tcp/127.0.0.1/$(ldapport "$site")") 2>/dev/null; then start_slapd "$site"; wait_port "$(ldapport "$site")"; fi
  {
    printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcReadOnly\nolcReadOnly: FALSE\n-\n'
    printf 'replace: olcSyncrepl\nolcSyncrepl: %s\n-\nreplace: olcUpdateRef\nolcUpdateRef: ldap://127.0.0.1:%s\n' "$(syncrepl "$(ldapport "$src")")" "$(ldapport "$src")"
  } | ldapmod "$site"
  stop_files_loop
  echo 0.2 >"$dir/run/files-interval"
  files_loop "$src"
  rm -f "$dir/run/lost"
  truth "rejoined_$site" "$(q "$(now)")"
}

post() { # post AUTHOR TEXT [FILE]: a message on the active site, its attachment in its store
  local author=${1:?AUTHOR} text=${2:?TEXT} file=${3:-} site sum=NULL path=NULL
  site=$(cat "$dir/run/files-from")
  if [ -n "$file" ]; then
    head -c 4096 /dev/urandom >"$dir/files/$site/attachments/$file"
    sum="'$(sha256sum "$dir/files/$site/attachments/$file" | cut -d' ' -f1)'" path="'attachments/$file'"
  fi
  psqlc "$site" "INSERT INTO messages (channel_id, author, body, attachment, attachment_sha256)
    SELECT id, '${author//\'/\'\'}', '${text//\'/\'\'}', $path, $sum FROM channels WHERE name = 'general' RETURNING id"
}

stop_lab() {
  [ -f "$dir/run/baseport" ] || exit 0
  stop_files_loop || true
  [ -f "$dir/run/haproxy.pid" ] && kill "$(cat "$dir/run/haproxy.pid")" 2>/dev/null
  stop_slapd primary || true
  stop_slapd standby || true
  for node in standby primary; do
    [ -d "$dir/pg/$node" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg/$node" -m immediate stop >/dev/null 2>&1 || true
  done
}

case "$cmd" in
start) start_lab "$@" ;;
stop) stop_lab ;;
cut-replication)
  ports
  truth cutAt "$(q "$(now)")"
  case ${1:-all} in
  all) cut_files; cut_pg; cut_ldap ;;
  pg) cut_pg ;;
  ldap) cut_ldap ;;
  files) cut_files ;;
  *) die "cut-replication: expected all, pg, ldap or files, got $1" ;;
  esac ;;
lose-site) lose_site "$@" ;;
delay) ports; delay "$@" ;;
heal) ports; heal ;;
rejoin) ports; rejoin "$@" ;;
snapshot) ports; snapshot ;;
post) ports; post "$@" ;;
*) echo "$usage" >&2; exit 2 ;;
esac
