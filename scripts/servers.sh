# shellcheck shell=bash
# The fleet: every server the suite runs against, in report order. Sourced by the scripts.
# The last two are negative controls: non-conformant servers the suite must fail.
FLEET=(radicale xandikos xandikos-tls sabre sabre-digest davical cyrus sogo calypso davserver)
NEGATIVE_CONTROLS=(calypso davserver)
