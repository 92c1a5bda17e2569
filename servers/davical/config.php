<?php
// DAViCal config for caldav-conformance (rendered by servers/up.sh davical into
// $STATE/davical/config.php; /etc/davical/127.0.0.1-conf.php is a symlink to it, because
// DAViCal only reads /etc/davical/$SERVER_NAME-conf.php).
$c->pg_connect[] = "dbname=davical user=davical_app host=@PG_SOCK@ port=@PG_PORT@";
$c->system_name = "DAViCal (caldav-conformance)";
$c->admin_email = "admin@example.com";
$c->home_calendar_name = 'calendar';
$c->default_locale = "en_US.UTF-8";
$c->collections_always_exist = false;
