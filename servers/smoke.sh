#!/usr/bin/env bash
# servers/smoke.sh NAME [NAME...]
#
# Quick curl check of a server started by servers/up.sh, using only $STATE/NAME/env:
# discover current-user-principal (root, then /.well-known/caldav, then /SOGo/dav/) and
# calendar-home-set (or use CCF_HOME), then MKCALENDAR, PUT a VEVENT, calendar-query,
# DELETE the calendar. Prints each status; exits non-zero when a step fails.
# Not part of the conformance suite: a provisioning sanity check.
set -euo pipefail
# shellcheck source=servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

smoke() {
    local name=$1 envfile="$STATE/$1/env"
    [[ -f $envfile ]] || { echo "$name: no $envfile (run servers/up.sh $name)"; return 1; }
    (
        # shellcheck disable=SC1090
        source "$envfile"
        local curlopts=(-s -m 20) xml=(-H 'Content-Type: application/xml; charset=utf-8')
        case "$CCF_AUTH" in
        basic) curlopts+=(--basic -u "$CALDAV_USER:$(<"$CCF_PASSWORD_FILE")") ;;
        digest) curlopts+=(--digest -u "$CALDAV_USER:$(<"$CCF_PASSWORD_FILE")") ;;
        esac
        if [[ -n ${CCF_CA_CERT:-} ]]; then curlopts+=(--cacert "$CCF_CA_CERT"); elif [[ -n ${CCF_INSECURE:-} ]]; then curlopts+=(-k); fi
        local origin
        origin="$(sed -E 's|^(https?://[^/]+).*|\1|' <<<"$CALDAV_URL")"
        local fail=0 body code href principal="" home=""

        propfind() { # URL DEPTH PROPXML -> body in $body, code in $code
            local out
            out="$(curl "${curlopts[@]}" "${xml[@]}" -X PROPFIND -H "Depth: $2" -w '\n%{http_code}' \
                --data "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop>$3</d:prop></d:propfind>" "$1")"
            code="${out##*$'\n'}"
            body="${out%$'\n'*}"
        }
        first_href_in() { # ELEMENT: first <href> inside <ELEMENT> of $body
            tr -d '\r\n' <<<"$body" | grep -oE "<([a-zA-Z0-9]+:)?$1[^>]*>[[:space:]]*<([a-zA-Z0-9]+:)?href[^>]*>[^<]*" |
                head -n 1 | sed -E 's/.*>([^<]*)$/\1/'
        }
        absolute() { if [[ $1 == http* ]]; then echo "$1"; else echo "$origin$1"; fi; }

        for start in "$CALDAV_URL" "$origin/.well-known/caldav" "$origin/SOGo/dav/"; do
            propfind "$start" 0 "<d:current-user-principal/>" || true
            if [[ $code == 30* ]]; then
                local loc
                loc="$(curl "${curlopts[@]}" -o /dev/null -w '%{redirect_url}' "${xml[@]}" -X PROPFIND -H 'Depth: 0' "$start")"
                [[ -n $loc ]] && propfind "$loc" 0 "<d:current-user-principal/>"
            fi
            href="$(first_href_in current-user-principal || true)"
            echo "$name: PROPFIND $start current-user-principal -> $code ${href:-<none>}"
            if [[ -n $href ]]; then principal="$(absolute "$href")"; break; fi
        done
        if [[ -n ${CCF_HOME:-} ]]; then
            home="$CCF_HOME"
        elif [[ -n $principal ]]; then
            propfind "$principal" 0 "<c:calendar-home-set/>"
            href="$(first_href_in calendar-home-set || true)"
            echo "$name: PROPFIND principal calendar-home-set -> $code ${href:-<none>}"
            [[ -n $href ]] && home="$(absolute "$href")"
        fi
        [[ -n $home ]] || { echo "$name: FAIL no calendar home"; exit 1; }
        echo "$name: principal=${principal:-<none>} home=$home"
        home="${home%/}/"
        local cal="${home}smoke-$$/" uid="smoke-$$@caldav-conformance"
        code="$(curl "${curlopts[@]}" -o /dev/null -w '%{http_code}' -X MKCALENDAR "$cal")"
        echo "$name: MKCALENDAR $cal -> $code"
        [[ $code == 201 ]] || fail=1
        local ics
        ics="$(printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldav-conformance//smoke//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nSUMMARY:smoke\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$uid")"
        code="$(curl "${curlopts[@]}" -o /dev/null -D "$STATE/$name/smoke-put.headers" -w '%{http_code}' -X PUT \
            -H 'Content-Type: text/calendar; charset=utf-8' -H 'If-None-Match: *' --data-binary "$ics" "${cal}smoke.ics")"
        echo "$name: PUT ${cal}smoke.ics -> $code $(grep -i '^etag:' "$STATE/$name/smoke-put.headers" | tr -d '\r' || true)"
        [[ $code == 201 ]] || fail=1
        code="$(curl "${curlopts[@]}" -o "$STATE/$name/smoke-query.xml" -w '%{http_code}' "${xml[@]}" -X REPORT -H 'Depth: 1' \
            --data '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260105T000000Z" end="20260106T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>' "$cal")"
        echo "$name: REPORT calendar-query -> $code, $(grep -o '<[a-zA-Z0-9]*:*href>' "$STATE/$name/smoke-query.xml" | wc -l) href(s)"
        code="$(curl "${curlopts[@]}" -o /dev/null -w '%{http_code}' -X DELETE "$cal")"
        echo "$name: DELETE $cal -> $code"
        [[ $code == 20? ]] || fail=1
        if ((fail)); then echo "$name: FAIL"; exit 1; fi
        echo "$name: OK"
    )
}

(($#)) || { echo "usage: $0 NAME [NAME...]" >&2; exit 2; }
rc=0
for n in "$@"; do smoke "$n" || rc=1; done
exit "$rc"
