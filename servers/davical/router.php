<?php
// Router for `php -S 127.0.0.1:PORT -t /usr/share/davical/htdocs router.php`: emulates
// DAViCal's Apache rewrite of /.well-known/caldav|carddav (a 301 to /caldav.php/);
// everything else is served as usual (PATH_INFO after caldav.php works natively).
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if (preg_match('#^/\.well-known/(caldav|carddav)/?$#', $path)) {
    header('Location: /caldav.php/', true, 301);
    return true;
}
return false;
