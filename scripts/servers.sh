# shellcheck shell=bash
# The fleet: every server the suite runs against, in report order. Sourced by the scripts.
# The last two are negative controls: non-conformant servers the suite must fail.
# radicale-nginx is Radicale behind a correctly configured nginx, judged by Radicale's baselines.
FLEET=(radicale radicale-nginx xandikos xandikos-tls sabre sabre-digest davical cyrus sogo calypso davserver)
NEGATIVE_CONTROLS=(calypso davserver)
