#!/usr/bin/env bash
# servers/up.sh NAME [NAME...]
#
# Install (from apt / PyPI / crates.io, idempotently), configure (users user1/pass1 and
# user2/pass2) and start each named CalDAV server on 127.0.0.1, wait until it answers
# HTTP, and write $STATE/NAME/env for the harness. $STATE is $CCF_STATE or
# <repo>/target/fleet. Each start wipes $STATE/NAME (caches such as $STATE/venv stay).
# Stop with servers/down.sh NAME (or `all`). See servers/README.md.
set -euo pipefail
# shellcheck source=servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    echo "usage: $0 NAME [NAME...]   (NAME: ${ALL_SERVERS[*]})" >&2
    exit 2
}

# ------------------------------------------------------------------ radicale (pip)
up_radicale() {
    local name=radicale PORT=5232 DIR
    ensure_apt curl
    ensure_venv
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    local u
    for u in "${USERS[@]}"; do echo "$u:${PASSWORDS[$u]}"; done >"$DIR/users"
    mkdir -p "$DIR/collections"
    render "$SERVERS_DIR/radicale/config" "$DIR/config" PORT DIR
    start_bg "$name" "$DIR/server.log" "$VENV/bin/radicale" --config "$DIR/config"
    wait_http "$name" "http://127.0.0.1:$PORT/" "$DIR/server.log"
    write_env "$name" "http://127.0.0.1:$PORT/" basic "Radicale $(py_version radicale)"
}

# ------------------------------------------------------------------ xandikos (pip)
# Single-user mode: no authentication at all; every request is user1 (/user1/).
up_xandikos() {
    local name=xandikos PORT=8090 DIR
    ensure_apt curl
    ensure_venv
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    mkdir -p "$DIR/data" "$DIR/state"
    start_bg "$name" "$DIR/server.log" "$VENV/bin/xandikos" serve -d "$DIR/data" --defaults \
        --current-user-principal /user1/ -l 127.0.0.1 -p "$PORT" \
        --state-dir "$DIR/state" --no-detect-systemd
    wait_http "$name" "http://127.0.0.1:$PORT/" "$DIR/server.log"
    write_env "$name" "http://127.0.0.1:$PORT/" none "Xandikos $(py_version xandikos)"
}

# Multi-user mode: HTTPS (--autocert, required by --htpasswd) with Basic auth from an
# htpasswd file of {SHA} entries. Xandikos reuses a certificate it finds in
# <state-dir>/certs, so we put one there signed by a throw-away CA of our own (with an
# IP SAN for 127.0.0.1, which the one Xandikos would generate lacks): CCF_CA_CERT verifies it.
up_xandikos_tls() {
    local name=xandikos-tls PORT=8093 DIR
    ensure_apt curl openssl
    ensure_venv
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    mkdir -p "$DIR/data" "$DIR/state/certs" "$DIR/ca"
    chmod 700 "$DIR/state/certs"
    local u
    for u in "${USERS[@]}"; do
        printf '%s:{SHA}%s\n' "$u" "$(printf '%s' "${PASSWORDS[$u]}" | openssl dgst -sha1 -binary | openssl base64 -A)"
    done >"$DIR/htpasswd"
    make_test_certs "$DIR/ca" "$DIR/state/certs/selfsigned.crt" "$DIR/state/certs/selfsigned.key"
    start_bg "$name" "$DIR/server.log" "$VENV/bin/xandikos" multi-user -d "$DIR/data" --defaults \
        -l 127.0.0.1 -p "$PORT" --state-dir "$DIR/state" --no-detect-systemd \
        --htpasswd "$DIR/htpasswd" --autocert
    wait_http "$name" "https://127.0.0.1:$PORT/" "$DIR/server.log"
    write_env "$name" "https://127.0.0.1:$PORT/" basic "Xandikos $(py_version xandikos)" \
        "CCF_CA_CERT=$DIR/ca/ca.pem" "CCF_INSECURE=1"
}

# make_test_certs CADIR CERT KEY: a throw-away CA (CADIR/ca.pem) and a server certificate
# for 127.0.0.1 / localhost signed by it.
make_test_certs() {
    local cadir=$1 cert=$2 key=$3
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$cadir/ca.key" -out "$cadir/ca.pem" -days 365 \
        -subj "/CN=caldav-conformance throw-away test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$key" -out "$cadir/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$cadir/server.ext"
    openssl x509 -req -in "$cadir/server.csr" -CA "$cadir/ca.pem" -CAkey "$cadir/ca.key" \
        -CAcreateserial -days 365 -extfile "$cadir/server.ext" -out "$cert" 2>/dev/null
    chmod 600 "$key" "$cadir/ca.key"
}

# ------------------------------------------------------------------ dav-server (crates.io)
# Negative control: the dav-server crate's caldav feature; no auth, no principals.
up_davserver() {
    local name=davserver PORT=8094 DIR
    local manifest="$SERVERS_DIR/dav-server-demo/Cargo.toml" target="$REPO_DIR/target/dav-server-demo"
    local bin="$target/release/dav-server-demo"
    ensure_apt curl
    command -v cargo >/dev/null || die "davserver needs cargo (a Rust toolchain)"
    # cargo is itself incremental: a no-op when the binary is up to date.
    log "cargo build --release (dav-server-demo)"
    cargo build --release --quiet --manifest-path "$manifest" --target-dir "$target" >&2
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    mkdir -p "$DIR/root"
    start_bg "$name" "$DIR/server.log" env DAV_ADDR="127.0.0.1:$PORT" DAV_ROOT="$DIR/root" "$bin"
    wait_http "$name" "http://127.0.0.1:$PORT/" "$DIR/server.log"
    local version
    version="$(cargo metadata --quiet --format-version 1 --manifest-path "$manifest" 2>/dev/null |
        grep -o '"name":"dav-server","version":"[^"]*"' | head -n 1 | sed 's/.*"version":"\([^"]*\)"/\1/')" || true
    write_env "$name" "http://127.0.0.1:$PORT/" none "dav-server ${version:-0.11}" \
        "CCF_HOME=http://127.0.0.1:$PORT/calendars/"
}

# ------------------------------------------------------------------ sabre/dav 1.8 (apt)
# Debian's php-sabre-dav is sabre/dav 1.8 (2014): no sync-collection, no collection getetag.
# sabre: Basic auth (AbstractBasic subclass); sabre-digest: Digest via Sabre's Auth\Backend\PDO
# (Baikal's default), realm "SabreDAV". Both: php -S with workers, SQLite, Debian's schema.
up_sabre() { sabre_common sabre 8091 basic; }
up_sabre_digest() { sabre_common sabre-digest 8098 digest; }

sabre_common() {
    local name=$1 PORT=$2 auth=$3 DIR
    ensure_apt curl php-cli php-sabre-dav php-sqlite3
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    local sqldir=/usr/share/doc/php-sabre-dav/examples/sql
    [[ -f $sqldir/sqlite.calendars.sql ]] || sqldir="$SERVERS_DIR/sabre/sql"
    php "$SERVERS_DIR/sabre/init.php" "$DIR/db.sqlite" "$sqldir" >"$DIR/init.log" 2>&1 ||
        { cat "$DIR/init.log" >&2; die "creating the sabre database failed"; }
    start_bg "$name" "$DIR/server.log" env PHP_CLI_SERVER_WORKERS=4 CCF_SABRE_DB="$DIR/db.sqlite" \
        CCF_SABRE_AUTH="$auth" php -d display_errors=0 -d log_errors=1 -d error_log="$DIR/php-errors.log" \
        -S "127.0.0.1:$PORT" "$SERVERS_DIR/sabre/server.php"
    wait_http "$name" "http://127.0.0.1:$PORT/" "$DIR/server.log"
    local version
    version="$(php -r 'error_reporting(0); require "Sabre/autoload.php"; echo Sabre\DAV\Version::VERSION;' 2>/dev/null || true)"
    write_env "$name" "http://127.0.0.1:$PORT/" "$auth" \
        "sabre/dav ${version:-?} (Debian php-sabre-dav $(pkg_version php-sabre-dav), PHP $(php -r 'echo PHP_VERSION;'))"
}

# ------------------------------------------------------------------ DAViCal (apt)
# php -S with DAViCal's htdocs; its database `davical` lives in the shared private
# PostgreSQL cluster (recreated at every start). Users are plain-text ('**pass') rows.
up_davical() {
    local name=davical PORT=8092 DIR
    ensure_apt curl davical php-pgsql php-cli postgresql
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    local etc_conf=/etc/davical/127.0.0.1-conf.php
    if [[ -e $etc_conf && ! -L $etc_conf ]]; then
        die "$etc_conf exists and is not our symlink; move it away to let up.sh use its own config"
    fi
    ensure_pg
    # A clean database at every start (roles are kept: create-database.sh reuses them).
    psql_pg -d postgres -c "DROP DATABASE IF EXISTS davical" >/dev/null
    log "creating the DAViCal database"
    as_postgres env PGHOST="$PG_SOCK" PGPORT="$PG_PORT" PGUSER=postgres \
        DBAOPTS="--dbhost $PG_SOCK --dbport $PG_PORT" \
        /usr/share/davical/dba/create-database.sh davical "adminpass-$RANDOM$RANDOM" >"$DIR/create-database.log" 2>&1 ||
        { tail -n 30 "$DIR/create-database.log" >&2; die "DAViCal create-database.sh failed"; }
    local u sql=""
    for u in "${USERS[@]}"; do
        sql+="INSERT INTO usr (username, password, fullname, email, active)
              VALUES ('$u', '**${PASSWORDS[$u]}', '${u^}', '$u@example.com', true);
              INSERT INTO principal (type_id, user_no, displayname, default_privileges)
              SELECT 1, user_no, fullname, '000000000000000000000000'::bit(24) FROM usr WHERE username = '$u';"
    done
    psql_pg -d davical -c "$sql" >/dev/null
    render "$SERVERS_DIR/davical/config.php" "$DIR/config.php" PG_SOCK PG_PORT
    mkdir -p /etc/davical
    ln -sfn "$DIR/config.php" "$etc_conf"
    # PHP notices must never reach a response body (as on a production PHP setup): under
    # `php -S`, display_errors=stderr still writes them into the body, so log them to a file.
    start_bg "$name" "$DIR/server.log" env PHP_CLI_SERVER_WORKERS=4 php -d display_errors=0 \
        -d log_errors=1 -d error_log="$DIR/php-errors.log" \
        -S "127.0.0.1:$PORT" -t /usr/share/davical/htdocs "$SERVERS_DIR/davical/router.php"
    wait_http "$name" "http://127.0.0.1:$PORT/caldav.php/" "$DIR/server.log"
    write_env "$name" "http://127.0.0.1:$PORT/" basic \
        "DAViCal $(pkg_version davical | sed 's/-[^-]*$//') (Debian davical $(pkg_version davical), PostgreSQL $(pg_version))"
}

# ------------------------------------------------------------------ Cyrus IMAP CalDAV (apt)
# Private master with only httpd (CalDAV) and lmtpd; users in a private sasldb. A user's
# calendar home is created at first HTTP login but needs the INBOX, so one message is
# delivered to each user over LMTP first. Logs go to syslog (usually nowhere: no /dev/log).
up_cyrus() {
    local name=cyrus PORT=8095 DIR
    ensure_apt curl cyrus-caldav sasl2-bin
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    mkdir -p "$DIR"/conf/{db,proc,socket,lock,sieve,user,quota,log} "$DIR/spool"
    render "$SERVERS_DIR/cyrus/imapd.conf" "$DIR/imapd.conf" DIR
    render "$SERVERS_DIR/cyrus/cyrus.conf" "$DIR/cyrus.conf" DIR PORT
    local u
    for u in "${USERS[@]}"; do
        printf '%s' "${PASSWORDS[$u]}" | saslpasswd2 -p -c -f "$DIR/sasldb2" -u localhost "$u"
    done
    chown -R cyrus:mail "$DIR"
    chmod 640 "$DIR/sasldb2"
    ensure_traversable "$DIR"
    start_bg "$name" "$DIR/master.log" /usr/lib/cyrus/bin/master -C "$DIR/imapd.conf" -M "$DIR/cyrus.conf" \
        -p "$DIR/master.pid" -D
    wait_http "$name" "http://127.0.0.1:$PORT/" "$DIR/master.log"
    local start=$SECONDS
    until [[ -S $DIR/conf/socket/lmtp ]]; do
        ((SECONDS - start < 30)) || die "cyrus: no LMTP socket after 30 s"
        sleep 0.2
    done
    for u in "${USERS[@]}"; do
        printf 'From: setup@example.com\r\nTo: %s@localhost\r\nSubject: provisioning\r\nMessage-ID: <setup-%s@caldav-conformance>\r\nDate: %s\r\n\r\nCreates the INBOX so the CalDAV home can be provisioned.\r\n' \
            "$u" "$u" "$(LC_ALL=C date -R)" |
            setpriv --reuid=cyrus --regid=mail --init-groups /usr/lib/cyrus/bin/deliver -C "$DIR/imapd.conf" -a "$u" "$u" \
                >>"$DIR/provision.log" 2>&1 || { cat "$DIR/provision.log" >&2; die "cyrus: deliver to $u failed"; }
        # The first authenticated request creates the calendar home (Default, Inbox, Outbox).
        curl -s -o /dev/null -u "$u:${PASSWORDS[$u]}" -X PROPFIND -H 'Depth: 0' \
            -H 'Content-Type: application/xml' "http://127.0.0.1:$PORT/dav/calendars/user/$u/" || true
    done
    write_env "$name" "http://127.0.0.1:$PORT/" basic \
        "Cyrus IMAP $(pkg_version cyrus-caldav | sed 's/-[^-]*$//') (Debian cyrus-caldav $(pkg_version cyrus-caldav))"
}

# ------------------------------------------------------------------ SOGo (apt)
# sogod as user sogo (it refuses root), users from an SQL table `sogo_users` (plain
# passwords) in database `sogo` of the shared private PostgreSQL cluster (recreated at
# every start), memcached on 127.0.0.1:11211. CalDAV lives under /SOGo/dav/ (/ is HTML and
# /.well-known is not handled), so CALDAV_URL is that DAV root.
up_sogo() {
    local name=sogo PORT=8097 MEMCACHED_PORT=11211 DIR PGURL
    ensure_apt curl sogo memcached postgresql
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    require_free_port "$MEMCACHED_PORT" "$name (memcached)"
    DIR="$STATE/$name"
    ensure_pg
    psql_pg -d postgres -c "DROP DATABASE IF EXISTS sogo" \
        -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sogo') THEN CREATE ROLE sogo LOGIN PASSWORD 'sogo'; END IF; END \$\$" \
        -c "CREATE DATABASE sogo OWNER sogo ENCODING 'UTF8' TEMPLATE template0" >/dev/null
    local u sql="CREATE TABLE sogo_users (c_uid varchar(64) PRIMARY KEY, c_name varchar(64) NOT NULL, c_password varchar(256) NOT NULL, c_cn varchar(128), mail varchar(128));"
    for u in "${USERS[@]}"; do
        sql+="INSERT INTO sogo_users VALUES ('$u', '$u', '${PASSWORDS[$u]}', '${u^}', '$u@example.com');"
    done
    as_postgres env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 \
        -h "$PG_SOCK" -p "$PG_PORT" -U sogo -d sogo -c "$sql" >/dev/null
    # shellcheck disable=SC2034 # used by render
    PGURL="postgresql://sogo:sogo@127.0.0.1:$PG_PORT/sogo"
    mkdir -p "$DIR/GNUstep/Defaults" "$DIR/run"
    render "$SERVERS_DIR/sogo/sogod.plist" "$DIR/GNUstep/Defaults/sogod.plist" PORT DIR PGURL MEMCACHED_PORT
    sed -e "s|^GNUSTEP_USER_DEFAULTS_DIR=.*|GNUSTEP_USER_DEFAULTS_DIR=$DIR/GNUstep/Defaults|" \
        -e "s|^GNUSTEP_USER_CONFIG_FILE=.*|GNUSTEP_USER_CONFIG_FILE=$DIR/GNUstep/user.conf|" \
        /etc/GNUstep/GNUstep.conf >"$DIR/GNUstep.conf"
    chown -R sogo:sogo "$DIR"
    : >"$DIR/server.log"
    ensure_traversable "$DIR"
    start_bg "$name" "$DIR/memcached.log" memcached -u memcache -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0
    start_bg "$name" "$DIR/server.log" setpriv --reuid=sogo --regid=sogo --init-groups \
        env HOME="$DIR" GNUSTEP_CONFIG_FILE="$DIR/GNUstep.conf" /usr/sbin/sogod -WONoDetach YES -WOLogFile -
    wait_http "$name" "http://127.0.0.1:$PORT/SOGo/dav/" "$DIR/server.log"
    # The bare root: / is HTML and /.well-known is not handled, so the harness finds the DAV
    # root among the usual context paths (it must work from the root on every server).
    write_env "$name" "http://127.0.0.1:$PORT/" basic \
        "SOGo $(pkg_version sogo | sed 's/-[^-]*$//') (Debian sogo $(pkg_version sogo), PostgreSQL $(pg_version), memcached $(pkg_version memcached | sed 's/-[^-]*$//'))"
}

# ------------------------------------------------------------------ Calypso (apt, negative control)
# MKCALENDAR is a no-op there, so each user gets a pre-created calendar collection
# /USER/calendar/ (a git repository holding .calypso-collection with is-calendar = 1).
up_calypso() {
    local name=calypso PORT=8096 DIR
    ensure_apt curl calypso git
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    DIR="$STATE/$name"
    local u cal
    for u in "${USERS[@]}"; do echo "$u:${PASSWORDS[$u]}"; done >"$DIR/users"
    render "$SERVERS_DIR/calypso/config" "$DIR/config" PORT DIR
    printf '[user]\n\tname = caldav-conformance\n\temail = setup@example.com\n' >"$DIR/.gitconfig"
    # Calypso runs git wherever it stores a file. A PUT into a collection that MKCALENDAR did
    # not really create lands outside the per-calendar repositories, and git would walk up to
    # the nearest enclosing repository (this checkout!). A repository at the storage root and
    # GIT_CEILING_DIRECTORIES keep every commit inside $DIR.
    mkdir -p "$DIR/collections"
    git init -q "$DIR/collections"
    for u in "${USERS[@]}"; do
        cal="$DIR/collections/$u/calendar"
        mkdir -p "$cal"
        git init -q "$cal"
        printf '[collection]\nis-calendar = 1\ndisplayname = %s calendar\n' "$u" >"$cal/.calypso-collection"
        HOME="$DIR" git -C "$cal" add .calypso-collection
        HOME="$DIR" git -C "$cal" commit -q -m "calendar for $u"
    done
    start_bg "$name" "$DIR/server.log" env HOME="$DIR" GIT_CEILING_DIRECTORIES="$DIR" \
        CALYPSO_CONFIG="$DIR/config" calypso -f
    wait_http "$name" "http://127.0.0.1:$PORT/" "$DIR/server.log"
    write_env "$name" "http://127.0.0.1:$PORT/" basic \
        "Calypso $(pkg_version calypso | sed 's/-[^-]*$//') (Debian calypso $(pkg_version calypso))" \
        "CCF_HOME=http://127.0.0.1:$PORT/user1/"
}

# ------------------------------------------------------------------ Radicale behind nginx (apt + pip)
# A private Radicale (its own port and storage, not the fleet's 5232) behind Debian's nginx,
# which terminates TLS (certificate from a throw-away CA, as for xandikos-tls).
# radicale-nginx: a correct reverse proxy; it must behave exactly like Radicale, so it is
# judged with Radicale's baselines (CCF_BASELINE_OF=radicale, read by scripts/suite.sh).
# radicale-badproxy: deliberately misconfigured (drops Depth, refuses REPORT with 405,
# limits bodies to 256k), the negative control of scenarios/deployment/. Configs: servers/proxy/.
up_radicale_nginx() { radicale_behind_nginx radicale-nginx 8099 5233 CCF_BASELINE_OF=radicale; }
up_radicale_badproxy() { radicale_behind_nginx radicale-badproxy 8100 5234; }

radicale_behind_nginx() {
    local name=$1 PORT=$2 BACKEND_PORT=$3 DIR
    shift 3
    ensure_apt curl openssl nginx
    ensure_venv
    fresh_state "$name"
    require_free_port "$PORT" "$name"
    require_free_port "$BACKEND_PORT" "$name (its Radicale)"
    DIR="$STATE/$name"
    local u
    for u in "${USERS[@]}"; do echo "$u:${PASSWORDS[$u]}"; done >"$DIR/users"
    mkdir -p "$DIR/collections" "$DIR/tmp" "$DIR/ca" "$DIR/tls"
    (PORT=$BACKEND_PORT && render "$SERVERS_DIR/radicale/config" "$DIR/radicale.conf" PORT DIR)
    start_bg "$name" "$DIR/radicale.log" "$VENV/bin/radicale" --config "$DIR/radicale.conf"
    wait_http "$name" "http://127.0.0.1:$BACKEND_PORT/" "$DIR/radicale.log"
    make_test_certs "$DIR/ca" "$DIR/tls/server.crt" "$DIR/tls/server.key"
    render "$SERVERS_DIR/proxy/$name.conf" "$DIR/nginx.conf" PORT BACKEND_PORT DIR
    # nginx workers (an unprivileged user when started as root) write request bodies under tmp/.
    ensure_traversable "$DIR/tmp"
    /usr/sbin/nginx -t -q -p "$DIR/" -e "$DIR/error.log" -c "$DIR/nginx.conf" >>"$DIR/nginx.log" 2>&1 ||
        { cat "$DIR/nginx.log" >&2; die "$name: nginx -t refused $DIR/nginx.conf"; }
    start_bg "$name" "$DIR/nginx.log" /usr/sbin/nginx -p "$DIR/" -e "$DIR/error.log" -c "$DIR/nginx.conf"
    wait_http "$name" "https://127.0.0.1:$PORT/" "$DIR/nginx.log"
    write_env "$name" "https://127.0.0.1:$PORT/" basic \
        "Radicale $(py_version radicale) behind nginx $(pkg_version nginx | sed 's/-[^-]*$//') (Debian nginx $(pkg_version nginx))" \
        "CCF_CA_CERT=$DIR/ca/ca.pem" "$@"
}

# ------------------------------------------------------------------ main
(($#)) || usage
for arg in "$@"; do
    [[ " ${ALL_SERVERS[*]} " == *" $arg "* ]] || { echo "unknown server: $arg" >&2; usage; }
done
mkdir -p "$STATE"
for arg in "$@"; do
    t0=$SECONDS
    CCF_LOG_PREFIX="up $arg"
    "up_${arg//-/_}"
    log "ready in $((SECONDS - t0)) s: $STATE/$arg/env"
done
